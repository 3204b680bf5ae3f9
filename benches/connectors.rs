//! Connector benchmarks (`cargo bench --bench connectors`): one section per connector, each printing
//! its own figures.

#[path = "connectors/http_push.rs"]
mod http_push;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime
        .block_on(http_push::run())
        .expect("the http_push benchmark");
}
