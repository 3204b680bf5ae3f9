//! Connector benchmark (`cargo bench --bench connectors`; start the broker first, e.g. with
//! `tests/broker.sh`): how long a department's change takes to reach a disclosure feed, per kind of
//! source, with the whole hub in-process (`dhub::hub::run`, embedded SQLite state, the four demo
//! platforms on the broker at `DHUB_TEST_BROKERS`).
//!
//! Latency is measured from the department's side of the change (for `sql`: the instant its COMMIT
//! returned) to the instant a consumer of a feed topic receives the record. Receiving comes after
//! the broker's acknowledgement of the hub's write, so the figures are conservative.
//!
//! # Layout
//!
//! - `connectors/support.rs`: what every section uses: the hub config and its in-process run, the
//!   feed consumer, latency figures.
//! - `connectors/sql.rs`: the `sql` source on Postgres: the NOTIFY path and the polling path.
//! - `connectors/http_push.rs`: 50 clients pushing at once: records/s and the time to a 202.
//!
//! A new section is a file beside them with its `run`, a `#[path]` module and one line in [`main`].
//! `DHUB_BENCH_SECTIONS=sql,http_push` picks sections (default: all).

// A crate root finds its modules beside it, not in a folder of its name: point at the folder.
#[path = "connectors/http_push.rs"]
mod http_push;
#[path = "connectors/sql.rs"]
mod sql;
#[path = "connectors/support.rs"]
mod support;

use support::Settings;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let settings = Settings::from_env();
    println!(
        "connector latency, department change → feed consumer (≥ broker ack); {} s per run, broker {}",
        settings.seconds, settings.brokers
    );
    runtime.block_on(async {
        if settings.wants("sql") {
            sql::run(&settings).await;
        }
        if settings.wants("http_push") {
            http_push::run().await.expect("the http_push benchmark");
        }
    });
}
