#!/usr/bin/env bash
# The end-to-end benchmark: starts the broker, then `cargo bench --bench e2e` (release build).
#   DHUB_BENCH_CASES=100000 DHUB_BENCH_LATENCY_SECONDS=20 tests/bench.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tests/broker.sh
cargo bench --locked --bench e2e
