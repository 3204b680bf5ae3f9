//! `gen-exports`: writes synthetic department exports for the demo and for manual testing.
//!
//! ```text
//! gen-exports --out DIR [--seed N] [--finance N] [--market N] [--revoke-fraction F] …
//! ```
//!
//! Layout written under `DIR` (the layout of `mappings/samples/`):
//!
//! - `finance-oa/first/czj-oa-<date>-090000.xml`: one GBK file with every finance case;
//! - `finance-oa/second/…`: the revocation export (the revoked cases with their new status);
//! - `market-supervision/first/samr-case-<division>-<date>-NN.xml`: UTF-8, per agency, in files of
//!   `--market-cases-per-file` cases; `market-supervision/second/…` likewise;
//! - `EXPECTED.md`: the command, and what each platform should show after each export.
//!
//! File names carry the export date, so a second export sorts after the first. A folder that
//! already holds other `.xml` files is refused rather than mixed with a different run.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::Parser;

use dhub_testkit::case::MentionKind;
use dhub_testkit::expect::{not_published, outcome_counts, records_in_force, DEMO_PLATFORMS};
use dhub_testkit::export::{export_time, write_finance_export, write_market_export, TextEncoding};
use dhub_testkit::generate::{apply_export, generate, revocation_export, BadCases, GenConfig};
use dhub_testkit::{Case, Outcome, System, AGENCIES};

#[derive(Debug, Parser)]
#[command(
    about = "Write synthetic finance-oa and market-supervision exports (first + revocation) and their expected outcome"
)]
struct Args {
    /// Folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the generator: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = GenConfig::default().seed)]
    seed: u64,
    /// Number of 茌平县财政局 cases (finance-oa).
    #[arg(long, default_value_t = 30)]
    finance: usize,
    /// Number of market-supervision cases (东阿县 and 聊城市).
    #[arg(long, default_value_t = 32)]
    market: usize,
    /// Share of each system's cases revoked in the second export (chosen among the published ones).
    #[arg(long, default_value_t = 0.12)]
    revoke_fraction: f64,
    /// Share of market cases decided by 聊城市市场监督管理局.
    #[arg(long, default_value_t = 0.15)]
    city_fraction: f64,
    /// Chance that a natural person's facts mention their ID number (and, separately, phone).
    #[arg(long, default_value_t = 0.5)]
    pii_fraction: f64,
    /// First day of the decision window (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2026-05-01")]
    from: NaiveDate,
    /// Last day of the decision window (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2026-10-30")]
    to: NaiveDate,
    #[arg(long, default_value_t = 1)]
    finance_secret: usize,
    #[arg(long, default_value_t = 0)]
    finance_internal: usize,
    #[arg(long, default_value_t = 0)]
    finance_minors: usize,
    #[arg(long, default_value_t = 1)]
    finance_majors_without_review: usize,
    #[arg(long, default_value_t = 1)]
    market_secret: usize,
    #[arg(long, default_value_t = 1)]
    market_internal: usize,
    #[arg(long, default_value_t = 1)]
    market_minors: usize,
    #[arg(long, default_value_t = 1)]
    market_majors_without_review: usize,
    /// Market cases per file (the system exports in batches).
    #[arg(long, default_value_t = 12)]
    market_cases_per_file: usize,
    /// Write the finance export as UTF-8 instead of the real system's GBK.
    #[arg(long)]
    finance_utf8: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date; write YYYY-MM-DD"))
}

impl Args {
    fn config(&self) -> GenConfig {
        GenConfig {
            seed: self.seed,
            finance_cases: self.finance,
            market_cases: self.market,
            finance_bad: BadCases {
                secret: self.finance_secret,
                internal: self.finance_internal,
                minors: self.finance_minors,
                majors_without_review: self.finance_majors_without_review,
            },
            market_bad: BadCases {
                secret: self.market_secret,
                internal: self.market_internal,
                minors: self.market_minors,
                majors_without_review: self.market_majors_without_review,
            },
            market_city_fraction: self.city_fraction,
            facts_pii_fraction: self.pii_fraction,
            decided_from: self.from,
            decided_to: self.to,
        }
    }

    /// The full command that reproduces this run, every option spelled out.
    fn command(&self) -> String {
        format!(
            "cargo run -p dhub-testkit --bin gen-exports -- --out {} --seed {} --finance {} --market {} \
             --revoke-fraction {} --city-fraction {} --pii-fraction {} --from {} --to {} \
             --finance-secret {} --finance-internal {} --finance-minors {} --finance-majors-without-review {} \
             --market-secret {} --market-internal {} --market-minors {} --market-majors-without-review {} \
             --market-cases-per-file {}{}",
            self.out.display(),
            self.seed,
            self.finance,
            self.market,
            self.revoke_fraction,
            self.city_fraction,
            self.pii_fraction,
            self.from,
            self.to,
            self.finance_secret,
            self.finance_internal,
            self.finance_minors,
            self.finance_majors_without_review,
            self.market_secret,
            self.market_internal,
            self.market_minors,
            self.market_majors_without_review,
            self.market_cases_per_file,
            if self.finance_utf8 { " --finance-utf8" } else { "" }
        )
    }
}

/// One file to write: where, which cases, which system.
struct Planned {
    path: PathBuf,
    system: System,
    cases: Vec<Case>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.market_cases_per_file == 0 {
        bail!("--market-cases-per-file must be at least 1");
    }
    let cases = generate(&args.config())?;
    let finance: Vec<Case> = cases
        .iter()
        .filter(|c| c.system == System::FinanceOa)
        .cloned()
        .collect();
    let market: Vec<Case> = cases
        .iter()
        .filter(|c| c.system == System::MarketSupervision)
        .cloned()
        .collect();

    // The revocations happen a week after the later of the two first exports.
    let later = revocation_export(&cases, args.revoke_fraction, args.seed, args.to)?;
    let finance_revoked: Vec<Case> = later
        .iter()
        .filter(|c| c.system == System::FinanceOa)
        .cloned()
        .collect();
    let market_revoked: Vec<Case> = later
        .iter()
        .filter(|c| c.system == System::MarketSupervision)
        .cloned()
        .collect();

    let mut plan = Vec::new();
    let finance_dir = args.out.join("finance-oa");
    let market_dir = args.out.join("market-supervision");
    for (stage, finance_cases, market_cases) in [
        ("first", &finance, &market),
        ("second", &finance_revoked, &market_revoked),
    ] {
        if let Some(at) = export_time(finance_cases) {
            let name = format!("czj-oa-{}.xml", at.format("%Y%m%d-%H%M%S"));
            plan.push(Planned {
                path: finance_dir.join(stage).join(name),
                system: System::FinanceOa,
                cases: finance_cases.clone(),
            });
        }
        for agency in AGENCIES
            .iter()
            .filter(|a| a.system == System::MarketSupervision)
        {
            let of_agency: Vec<Case> = market_cases
                .iter()
                .filter(|c| c.agency == *agency)
                .cloned()
                .collect();
            let Some(at) = export_time(&of_agency) else {
                continue;
            };
            for (n, chunk) in of_agency.chunks(args.market_cases_per_file).enumerate() {
                let name = format!(
                    "samr-case-{}-{}-{:02}.xml",
                    agency.division,
                    at.format("%Y%m%d"),
                    n + 1
                );
                plan.push(Planned {
                    path: market_dir.join(stage).join(name),
                    system: System::MarketSupervision,
                    cases: chunk.to_vec(),
                });
            }
        }
    }

    refuse_foreign_files(&plan, &[&finance_dir, &market_dir])?;
    let encoding = if args.finance_utf8 {
        TextEncoding::Utf8
    } else {
        TextEncoding::Gbk
    };
    for file in &plan {
        match file.system {
            System::FinanceOa => write_finance_export(&file.cases, &file.path, encoding)?,
            System::MarketSupervision => write_market_export(&file.cases, &file.path)?,
        }
    }

    let first = cases;
    let second = apply_export(&first, &later);
    let expected = expected_markdown(&args, &first, &second, &later, &plan);
    let expected_path = args.out.join("EXPECTED.md");
    fs::write(&expected_path, expected)
        .with_context(|| format!("cannot write {}", expected_path.display()))?;

    print!("{}", summary(&args, &first, &second, &later, &plan));
    Ok(())
}

/// Refuses to write next to `.xml` files this run would not write: they would be fed to the hub too.
fn refuse_foreign_files(plan: &[Planned], roots: &[&Path]) -> anyhow::Result<()> {
    let ours: BTreeSet<&Path> = plan.iter().map(|p| p.path.as_path()).collect();
    for root in roots {
        for stage in ["first", "second"] {
            let dir = root.join(stage);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry
                    .with_context(|| format!("cannot list {}", dir.display()))?
                    .path();
                if path.extension().is_some_and(|e| e == "xml") && !ours.contains(path.as_path()) {
                    bail!(
                        "{} is from another run; remove the .xml files in {} or choose another --out",
                        path.display(),
                        dir.display()
                    );
                }
            }
        }
    }
    Ok(())
}

fn relative(path: &Path, out: &Path) -> String {
    path.strip_prefix(out).unwrap_or(path).display().to_string()
}

fn summary(
    args: &Args,
    first: &[Case],
    second: &[Case],
    later: &[Case],
    plan: &[Planned],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "wrote {} files to {}",
        plan.len() + 1,
        args.out.display()
    );
    for file in plan {
        let _ = writeln!(
            s,
            "  {} ({} cases)",
            relative(&file.path, &args.out),
            file.cases.len()
        );
    }
    let _ = writeln!(s, "  EXPECTED.md");
    let _ = writeln!(s, "first export, cases per division and expected outcome:");
    for ((division, outcome), count) in outcome_counts(first) {
        let _ = writeln!(s, "  {division}  {outcome:<40} {count}");
    }
    let _ = writeln!(s, "second export: {} cases change status", later.len());
    for case in later {
        let _ = writeln!(
            s,
            "  {}  {}",
            case.record_id(),
            case.expected_outcome().label()
        );
    }
    let _ = writeln!(
        s,
        "records in force per platform (after first / after second):"
    );
    for platform in &DEMO_PLATFORMS {
        let _ = writeln!(
            s,
            "  {:<8} {}  {:>3} / {:>3}",
            platform.level.as_str(),
            platform.division,
            records_in_force(platform, first),
            records_in_force(platform, second)
        );
    }
    let (natural, with_pii) = pii_counts(first);
    let _ = writeln!(s, "natural-person counterparties: {natural}, of which {with_pii} have their ID number or phone in the facts");
    s
}

/// (natural-person counterparties, those whose facts carry their ID number or phone).
fn pii_counts(cases: &[Case]) -> (usize, usize) {
    let natural: Vec<&Case> = cases
        .iter()
        .filter(|c| c.natural_person().is_some())
        .collect();
    let with_pii = natural
        .iter()
        .filter(|c| {
            c.facts_mentions
                .iter()
                .any(|m| matches!(m.kind, MentionKind::IdNumber | MentionKind::Phone))
        })
        .count();
    (natural.len(), with_pii)
}

fn expected_markdown(
    args: &Args,
    first: &[Case],
    second: &[Case],
    later: &[Case],
    plan: &[Planned],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Sample exports: what the demo should show\n");
    let _ = writeln!(md, "Generated (byte-identical on every run) by:\n");
    let _ = writeln!(md, "```sh\n{}\n```\n", args.command());
    let _ = writeln!(
        md,
        "Every person, company, phone and ID number here is invented; the check digits of resident IDs, \
         USCCs and organisation codes are valid so that validation passes. Feed `first/` of both systems, \
         then `second/`.\n"
    );

    let _ = writeln!(md, "## Records in force per platform\n");
    let _ = writeln!(
        md,
        "| platform | topic | after `first/` | after `second/` |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|");
    for platform in &DEMO_PLATFORMS {
        let _ = writeln!(
            md,
            "| {} {} {} | `{}` | {} | {} |",
            platform.name,
            platform.level.as_str(),
            platform.division,
            platform.topic(),
            records_in_force(platform, first),
            records_in_force(platform, second)
        );
    }
    let earliest = first
        .iter()
        .filter(|c| c.expected_outcome().is_published())
        .map(|c| c.publicity_until)
        .min();
    if let Some(earliest) = earliest {
        let _ = writeln!(
            md,
            "\nThese counts hold until the first publicity period ends on {earliest}; after that date the hub \
             withdraws expired records (`publicity_expired`)."
        );
    }
    let _ = writeln!(
        md,
        "\n茌平县 (371523) became 茌平区 (371503) in 2019; the demo keeps the code the finance bureau's system \
         exports, and routing by prefix still puts it under 聊城市 (371500) and 山东省 (370000).\n"
    );

    let _ = writeln!(
        md,
        "## Cases per division and expected outcome (first export)\n"
    );
    let _ = writeln!(md, "| division | outcome | cases |");
    let _ = writeln!(md, "|---|---|---:|");
    for ((division, outcome), count) in outcome_counts(first) {
        let _ = writeln!(md, "| {division} | `{outcome}` | {count} |");
    }

    let _ = writeln!(
        md,
        "\n## Withheld: never published, held in quarantine with the reason\n"
    );
    let _ = writeln!(md, "| record_id | reason |");
    let _ = writeln!(md, "|---|---|");
    for (id, outcome) in not_published(first) {
        if let Outcome::Withheld(reason) = outcome {
            let _ = writeln!(md, "| `{id}` | `{}` |", reason.as_str());
        }
    }

    let _ = writeln!(md, "\n## Retracted by the second export\n");
    let _ = writeln!(md, "| record_id | new status | retract reason |");
    let _ = writeln!(md, "|---|---|---|");
    for case in later {
        let reason = match case.expected_outcome() {
            Outcome::Retracted(reason) => reason.as_str(),
            _ => "-",
        };
        let _ = writeln!(
            md,
            "| `{}` | `{}` | `{reason}` |",
            case.record_id(),
            case.status.as_str()
        );
    }

    let _ = writeln!(md, "\n## Personal data in free text\n");
    let (natural, with_pii) = pii_counts(first);
    let _ = writeln!(
        md,
        "{natural} cases have a natural-person counterparty; in {with_pii} of them the facts (`违法事实` / `Facts`) \
         quote the person's ID number or mobile number, which every public feed must show as `*`. Published ones:\n"
    );
    for case in first.iter().filter(|c| c.expected_outcome().is_published()) {
        let kinds: BTreeSet<&str> = case
            .facts_mentions
            .iter()
            .filter_map(|m| match m.kind {
                MentionKind::IdNumber => Some("ID number"),
                MentionKind::Phone => Some("phone"),
                MentionKind::Address => Some("address"),
                MentionKind::Name => None,
            })
            .collect();
        if case.natural_person().is_some() && !kinds.is_empty() {
            let list: Vec<&str> = kinds.into_iter().collect();
            let _ = writeln!(md, "- `{}`: {}", case.record_id(), list.join(", "));
        }
    }

    let _ = writeln!(md, "\n## Files\n");
    let _ = writeln!(md, "| file | cases | encoding |");
    let _ = writeln!(md, "|---|---:|---|");
    for file in plan {
        let encoding = match (file.system, args.finance_utf8) {
            (System::FinanceOa, false) => "GBK",
            _ => "UTF-8",
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {encoding} |",
            relative(&file.path, &args.out),
            file.cases.len()
        );
    }

    let _ = writeln!(md, "\n## Agencies\n");
    let _ = writeln!(md, "| agency | division | USCC | source |");
    let _ = writeln!(md, "|---|---|---|---|");
    for agency in AGENCIES {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | `{}` |",
            agency.name,
            agency.division,
            agency.uscc,
            agency.system.source_name()
        );
    }
    md
}
