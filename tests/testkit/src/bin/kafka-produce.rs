//! `kafka-produce`: sends a JSONL file to a topic, one line per message, as a department system
//! publishing its cases would (for the demo and benchmarks; Debian's kcat cannot talk to tansu).
//!
//! ```text
//! kafka-produce --brokers 127.0.0.1:9092 --topic djt.cases [--key-pointer /case_id] [--partitions 3] [--recreate] FILE.jsonl
//! ```
//!
//! The topic is created through the admin API when it is missing (`--partitions`, replication 1):
//! brokers such as tansu, like production clusters, do not create topics on first use. With
//! `--key-pointer`, each line's value at that JSON pointer is its key, so every version of a case
//! goes to one partition, in order. `--recreate` deletes the topic first (a demo that starts from an
//! empty state store must not find an earlier run's messages; an empty FILE then just resets the
//! topic). Prints how many messages each partition received. Exits 1 with
//! the line at fault when a line has no key, or when the broker does not take every message.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use dhub_testkit::kafka::{create_topic, delete_topics, jsonl_messages, produce};

#[derive(Debug, Parser)]
#[command(about = "Send a JSONL file to a Kafka topic, one line per message")]
struct Args {
    /// Bootstrap servers (host:port, comma separated).
    #[arg(long)]
    brokers: String,
    /// The topic; created (with `--partitions`) when missing.
    #[arg(long)]
    topic: String,
    /// JSON pointer to each line's key (e.g. `/case_id`); without it, messages have no key.
    #[arg(long)]
    key_pointer: Option<String>,
    /// Partitions of the topic when it has to be created.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// Delete the topic (with every message in it) before creating it again.
    #[arg(long)]
    recreate: bool,
    /// A librdkafka property, as KEY=VALUE (SASL, TLS); may be repeated.
    #[arg(long = "property", value_parser = parse_property)]
    properties: Vec<(String, String)>,
    /// The JSONL file: one message per non-blank line.
    file: PathBuf,
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_string(), value.to_string()))
        .filter(|(key, _)| !key.is_empty())
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kafka-produce: {}: {error:#}", args.file.display());
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    if args.partitions < 1 {
        anyhow::bail!("--partitions must be at least 1");
    }
    let text = std::fs::read_to_string(&args.file).context("cannot read the file as UTF-8")?;
    let messages = jsonl_messages(&text, args.key_pointer.as_deref())?;
    if args.recreate {
        delete_topics(&args.brokers, &args.properties, &[&args.topic]).await?;
    }
    if create_topic(
        &args.brokers,
        &args.properties,
        &args.topic,
        args.partitions,
    )
    .await?
    {
        eprintln!(
            "created topic {} with {} partition(s)",
            args.topic, args.partitions
        );
    }
    let placed = produce(&args.brokers, &args.properties, &args.topic, &messages).await?;
    let mut per_partition = std::collections::BTreeMap::new();
    for (partition, _) in &placed {
        *per_partition.entry(*partition).or_insert(0usize) += 1;
    }
    let shown: Vec<String> = per_partition
        .iter()
        .map(|(partition, count)| format!("{partition}: {count}"))
        .collect();
    println!(
        "sent {} message(s) to {} (partition: messages; {})",
        placed.len(),
        args.topic,
        shown.join(", ")
    );
    Ok(())
}
