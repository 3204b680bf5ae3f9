//! Public-version generation per document: extraction, redaction (engine + document pass) and
//! rendering of the 5-page sample decision (`tests/samples/penalty-long.*`), single thread,
//! release build. Prints p50 / p99 / mean per format, and the share of extraction.
//!
//! `cargo bench -p dhub-documents` (`DHUB_BENCH_ITERATIONS` overrides the count, default 300).

use std::path::Path;
use std::time::{Duration, Instant};

use dhub_documents::{extract, public_version, redact_document, DocumentLimits, PublicOutcome};
use dhub_redaction::Policy;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let iterations: usize = std::env::var("DHUB_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(samples.join("penalty-long.record.json")).unwrap(),
    )
    .unwrap();
    let policy = Policy::builtin("public").unwrap();
    let limits = DocumentLimits::default();
    println!(
        "public version of a 5-page 行政处罚决定书, policy `public`, {iterations} iterations, 1 thread"
    );
    println!(
        "{:<6} {:>9} {:>7} {:>10} {:>10} {:>10} {:>12} {:>11}",
        "format", "bytes", "chars", "p50 µs", "p99 µs", "mean µs", "extract p50", "engine p50"
    );
    for file in ["penalty-long.docx", "penalty-long.pdf"] {
        let bytes = std::fs::read(samples.join(file)).unwrap();
        let extracted = extract(&bytes, None, &limits).unwrap();
        let chars: usize = extracted
            .paragraphs
            .iter()
            .map(|p| p.text.chars().count())
            .sum();
        for _ in 0..5 {
            let _ = redact_document(&bytes, None, Some(&record), &policy, &limits).unwrap();
        }
        let mut total = Vec::with_capacity(iterations);
        let mut extraction = Vec::with_capacity(iterations);
        let mut engine = Vec::with_capacity(iterations);
        let texts: Vec<String> = extracted
            .paragraphs
            .iter()
            .map(|p| p.text.clone())
            .collect();
        for _ in 0..iterations {
            let start = Instant::now();
            let extracted = extract(&bytes, None, &limits).unwrap();
            let extracted_at = start.elapsed();
            let outcome = public_version(&extracted, Some(&record), &policy);
            let elapsed = start.elapsed();
            assert!(matches!(outcome, PublicOutcome::Published(_)));
            total.push(elapsed);
            extraction.push(extracted_at);
            // The engine's share alone (withholding, detectors, recurrences over the paragraphs).
            let start = Instant::now();
            let _ = policy.redact_document(Some(&record), &texts);
            engine.push(start.elapsed());
        }
        engine.sort();
        total.sort();
        extraction.sort();
        let mean = total.iter().sum::<Duration>() / iterations as u32;
        println!(
            "{:<6} {:>9} {:>7} {:>10.0} {:>10.0} {:>10.0} {:>12.0} {:>11.0}",
            file.rsplit('.').next().unwrap(),
            bytes.len(),
            chars,
            micros(percentile(&total, 0.50)),
            micros(percentile(&total, 0.99)),
            micros(mean),
            micros(percentile(&extraction, 0.50)),
            micros(percentile(&engine, 0.50)),
        );
    }
}
