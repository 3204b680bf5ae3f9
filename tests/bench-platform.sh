#!/usr/bin/env bash
# The platform benchmark: a province's view (1,000,000 records by default) loaded through
# View::apply into SQLite and into Postgres, then searched; prints envelopes/s and query
# p50/p99 per kind of query. Release build; needs the local Postgres (DHUB_TEST_POSTGRES).
#   DHUB_BENCH_RECORDS=1000000 DHUB_BENCH_QUERIES=200 DHUB_BENCH_BACKENDS=sqlite,postgres tests/bench-platform.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo bench --locked -p dhub-platform --bench platform
