//! The law's clocks and statistics: everything about time and counting that the disclosure rules ask
//! for, as pure functions ("today" and "now" are parameters; no database, broker or clock inside), so
//! the hub, the CLI and the dashboard get exact, tested answers.
//!
//! # Layout
//!
//! - [`calendar`]: working days (statutory holidays, adjusted working days 调休), embedded per year
//!   and extendable from a folder; answers for uncovered years say they are estimates.
//! - [`deadlines`]: publication (7 / 20 working days) and withdrawal (3 days) deadlines, per region,
//!   their states (`open`, `due_soon`, `overdue`, `met`) and the `dhub report deadlines` line.
//! - [`publicity`]: how long a decision stays public (source's `publicity_until`, else by category and
//!   severity), and when it expires in the configured time zone.
//! - [`sgs2021`]: the national 双公示 field codes (`CF_*`, `XK_*`) for `format = "sgs.2021"` feeds.
//! - [`annual`]: the yearly statistics (统计年报) and their JSON, CSV and HTML renderings.
//!
//! Division codes and their succession live in `dhub_schema::divisions`.
//!
//! `data/holidays-cn/` holds the embedded calendar (one `YYYY.json` per State Council notice, see its
//! `SOURCE.md`); `build.rs` embeds every such file, so the product never reads shared reference data
//! at run time. `examples/annual_page.rs` writes the report of a generated year as HTML, CSV and JSON.

pub mod annual;
pub mod calendar;
pub mod deadlines;
pub mod publicity;
pub mod sgs2021;

pub use annual::{
    annual_report, render_csv, render_html, render_json, AnnualError, AnnualReport, AnnualRow,
    WithdrawalReason,
};
pub use calendar::{Calendar, CalendarError, Due, Reckoned};
pub use deadlines::{
    Deadline, DeadlineKind, DeadlineLine, DeadlineRules, DeadlineState, DeadlinesConfig,
    DeadlinesConfigError,
};
pub use publicity::{
    expired, expires_at, local_date, Publicity, PublicityBasis, PublicityConfig,
    PublicityConfigError, PublicityFacts, PublicityRules,
};
pub use sgs2021::{to_sgs2021, Sgs2021Error};
