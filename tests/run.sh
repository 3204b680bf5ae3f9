#!/usr/bin/env bash
# The test command (README, .ci/run): starts what the tests need — the Kafka-compatible broker
# (installed once per machine) and Postgres — then runs every test of the workspace against them.
#
#   DHUB_TEST_BROKERS=host:port   run against another Kafka (e.g. Apache Kafka) instead of tansu
#   DHUB_TEST_POSTGRES=URL        another Postgres (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Debian packages some tests drive (chromium, fonts-noto-cjk, promtool); a no-op once installed.
tests/deps.sh
tests/broker.sh

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "postgres does not answer on 127.0.0.1:5432; starting the local cluster" >&2
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
    pg_isready -h 127.0.0.1 -p 5432 || { echo "error: postgres is needed by the tests and is not running" >&2; exit 1; }
fi

# --no-fail-fast: a red run names every failing suite, not only the first.
cargo test --workspace --locked --no-fail-fast --features dhub/failpoints "$@"
