//! `dhub redact [--policy NAME|FILE] [--input FILE] [--report]` (CONTRACT §1).

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use dhub_redaction::Policy;

pub fn redact(policy: &str, input: Option<&Path>, report: bool) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let policy = Policy::resolve(policy, &cwd).map_err(|error| anyhow::anyhow!("{error}"))?;
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    dhub_redaction::run_redact_command(&policy, reader, out, report)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `dhub redact --document FILE [--record FILE] [--policy …] [--media-type T] [--report]`: the
/// public version (公开版) of one decision document, offline, as the hub makes it: the HTML on
/// stdout (or the reason it is withheld on stderr, exit 1). With `--record` (the record as JSON,
/// as `dhub map` prints it) the counterparty's own name, ID number and address are removed from the
/// body too. `--report` writes the rules that fired, with counts, to stderr (never the text).
pub fn redact_document(
    policy: &str,
    document: &Path,
    record: Option<&Path>,
    media_type: Option<&str>,
    report: bool,
) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let policy = Policy::resolve(policy, &cwd).map_err(|error| anyhow::anyhow!("{error}"))?;
    let bytes =
        std::fs::read(document).with_context(|| format!("{}: cannot read", document.display()))?;
    let record: Option<serde_json::Value> = match record {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            Some(serde_json::from_str(&text).with_context(|| {
                format!("{}: not a JSON record", path.display())
            })?)
        }
        None => None,
    };
    let outcome = dhub_documents::redact_document(
        &bytes,
        media_type,
        record.as_ref(),
        &policy,
        &dhub_documents::DocumentLimits::default(),
    )
    .map_err(|error| anyhow::anyhow!("{}: {error}", document.display()))?;
    match outcome {
        dhub_documents::PublicOutcome::Published(public) => {
            use std::io::Write;
            std::io::stdout()
                .write_all(public.as_bytes())
                .context("cannot write the public version")?;
            if report {
                for redaction in public.redactions() {
                    eprintln!("{}\t{}", redaction.rule, redaction.count);
                }
                eprintln!("sha256\t{}", public.sha256());
            }
            Ok(ExitCode::SUCCESS)
        }
        dhub_documents::PublicOutcome::Withheld { reason, detail } => {
            eprintln!("{}: withheld by policy {}: {reason}: {detail}", document.display(), policy.name());
            Ok(ExitCode::from(1))
        }
    }
}
