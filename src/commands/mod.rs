//! One module per subcommand; [`execute`] dispatches.

pub mod audit;
pub mod check;
pub mod map;
pub mod platform;
pub mod progress;
pub mod quarantine;
pub mod redact;
pub mod report;
pub mod retract;
pub mod run;
pub mod status;
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
        #[arg(long, conflicts_with = "document")]
        input: Option<PathBuf>,
        #[arg(long)]
        report: bool,
        /// A decision document (DOCX, PDF with a text layer, HTML, text): print its public version.
        #[arg(long)]
        document: Option<PathBuf>,
        /// With --document: the document's record (JSON), whose counterparty data is removed from
        /// the body too.
        #[arg(long, requires = "document")]
        record: Option<PathBuf>,
        /// With --document: its declared media type (default: sniffed from the bytes).
        #[arg(long, requires = "document")]
        media_type: Option<String>,
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
    /// What a running hub's /api/status says, as tables: throughput, backlog, quarantine,
    /// deadlines, leases, health. Exit 1 when no hub answers.
    Status {
        /// The hub's base URL (default: from --config's hub.listen, else http://127.0.0.1:9464).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print nothing; only the exit code says whether the hub answers (a health check).
        #[arg(long)]
        quiet: bool,
    },
    /// The law's clocks and statistics: the annual report, the statutory deadlines.
    Report {
        #[command(subcommand)]
        action: report::Action,
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
        /// Fetch the documents the records name (from the hub, hash-checked) into this folder,
        /// serve them at /documents/{sha256}, delete them once no record in force names them.
        #[arg(long, value_name = "DIR")]
        documents: Option<std::path::PathBuf>,
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
            input: _,
            report,
            document: Some(document),
            record,
            media_type,
        } => redact::redact_document(
            &policy,
            &document,
            record.as_deref(),
            media_type.as_deref(),
            report,
        ),
        Command::Redact {
            policy,
            input,
            report,
            ..
        } => redact::redact(&policy, input.as_deref(), report),
        Command::Retract {
            config,
            record,
            reason,
            note,
        } => retract::retract(&config, &record, &reason, note.as_deref()).await,
        Command::Quarantine { action } => quarantine::execute(action).await,
        Command::Status { url, config, quiet } => {
            status::status(url.as_deref(), config.as_deref(), quiet).await
        }
        Command::Report { action } => report::execute(action).await,
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
            documents,
        } => {
            platform::platform(
                brokers,
                topic,
                db,
                listen,
                group,
                properties,
                verify_keys,
                documents,
            )
            .await
        }
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
