#!/usr/bin/env bash
# Runs the S3 store test (tests/s3.rs) against a local S3-compatible server: moto's server
# (`pip install 'moto[server]'`), on 127.0.0.1:${PORT:-9000}, with a bucket `dhub-test`. No Docker
# needed. The server is stopped when the test ends.
set -euo pipefail
PORT="${PORT:-9000}"
cd "$(dirname "$0")/../../.."
moto_server -H 127.0.0.1 -p "$PORT" >/tmp/dhub-moto.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.2
done
curl -sf -X PUT "http://127.0.0.1:$PORT/dhub-test" >/dev/null
DHUB_TEST_S3_ENDPOINT="http://127.0.0.1:$PORT" cargo test -p dhub-documents --test s3 -- --nocapture
