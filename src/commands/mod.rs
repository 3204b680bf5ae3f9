//! One module per subcommand; [`execute`] dispatches.

pub mod audit;
pub mod check;
pub mod map;
pub mod platform;
pub mod quarantine;
pub mod redact;
pub mod retract;
pub mod run;
pub mod trace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dhub",
    version,
    about = "The enforcement disclosure hub (行政执法公示数据枢纽)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the hub until SIGINT/SIGTERM, then drain and exit.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate the config and every mapping and policy it names.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run one mapping offline on a source file (or stdin); print normalized records as JSONL.
    Map {
        #[arg(long)]
        mapping: PathBuf,
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Redact normalized records (JSONL, file or stdin) with a policy; one line out per record.
    Redact {
        #[arg(long, default_value = "public")]
        policy: String,
        #[arg(long)]
        input: Option<PathBuf>,
        #[arg(long)]
        report: bool,
    },
    /// Withdraw a published record from every platform that received it.
    Retract {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        record: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Records held back, with their reason: list, show, replay after a fix, or drop.
    Quarantine {
        #[command(subcommand)]
        action: quarantine::Action,
    },
    /// The tamper-evident audit chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// A record's whole history: source, mapping, redactions, deliveries, retractions.
    Trace {
        #[arg(long)]
        config: PathBuf,
        record_id: String,
    },
    /// The reference platform subscriber: keeps a searchable view of one feed.
    Platform {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        db: String,
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Consumer group; default `dhub-platform-<topic>`.
        #[arg(long)]
        group: Option<String>,
        /// A librdkafka property for the consumer, `KEY=VALUE` (e.g. `security.protocol=SASL_SSL`);
        /// repeatable.
        #[arg(long = "property", value_name = "KEY=VALUE")]
        properties: Vec<String>,
        /// A hub's Ed25519 public key (SPKI PEM, `openssl pkey -pubout`); repeatable. With any,
        /// only envelopes whose `signature` header verifies are applied, the others rejected.
        #[arg(long = "verify-key", value_name = "FILE")]
        verify_keys: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum AuditAction {
    /// Check the chain: exit 0 intact, 1 with the first broken entry.
    Verify {
        #[arg(long)]
        config: PathBuf,
        /// Also compare the chain with the checkpoints the hub published to Kafka.
        #[arg(long)]
        checkpoints: bool,
    },
}

/// Logs go to stderr (stdout carries command output such as JSONL). `DHUB_LOG` sets the filter.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rdkafka=warn,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config } => run::run(&config).await,
        Command::Check { config } => Ok(check::check(&config)),
        Command::Map { mapping, input } => map::map(&mapping, input.as_deref()),
        Command::Redact {
            policy,
            input,
            report,
        } => redact::redact(&policy, input.as_deref(), report),
        Command::Retract {
            config,
            record,
            reason,
            note,
        } => retract::retract(&config, &record, &reason, note.as_deref()).await,
        Command::Quarantine { action } => quarantine::execute(action).await,
        Command::Audit {
            action:
                AuditAction::Verify {
                    config,
                    checkpoints,
                },
        } => audit::verify(&config, checkpoints).await,
        Command::Trace { config, record_id } => trace::trace(&config, &record_id).await,
        Command::Platform {
            brokers,
            topic,
            db,
            listen,
            group,
            properties,
            verify_keys,
        } => platform::platform(brokers, topic, db, listen, group, properties, verify_keys).await,
    }
}

/// Loads a config for a command, as one error line on failure.
pub(crate) fn load_config(path: &std::path::Path) -> anyhow::Result<crate::config::HubConfig> {
    crate::config::HubConfig::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))
}

/// Opens the config's state store, as one error line (without the URL's password) on failure.
pub(crate) async fn open_store(
    config: &crate::config::HubConfig,
) -> anyhow::Result<dhub_store::Store> {
    dhub_store::Store::connect(&config.state_url)
        .await
        .map(|store| store.with_audit_key(config.audit_key.clone()))
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot open the state store {}: {error}",
                crate::hub::redact_url(&config.state_url)
            )
        })
}
