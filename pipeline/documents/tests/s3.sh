#!/usr/bin/env bash
# Runs the S3 store test (tests/s3.rs) against a local S3-compatible server on
# 127.0.0.1:${PORT:-9014}, with a bucket `dhub-test`, and stops the server afterwards. No Docker.
#
# The server: s3s-fs (pure Rust, a folder behind the S3 API) when `s3s-fs` is on PATH or $S3S_FS
# names it — `cargo install s3s-fs@0.14.1 --locked --features binary` (0.17 needs rustc 1.96) —
# else moto's server (`pip install 'moto[server]'`, `moto_server`). Both pass the test.
set -euo pipefail
PORT="${PORT:-9014}"
cd "$(dirname "$0")/../../.."
S3S_FS="${S3S_FS:-$(command -v s3s-fs || true)}"
DATA="$(mktemp -d)"
if [ -n "$S3S_FS" ]; then
    mkdir -p "$DATA/dhub-test"
    setsid "$S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key test --secret-key test "$DATA" \
        >"$DATA.log" 2>&1 &
else
    setsid moto_server -H 127.0.0.1 -p "$PORT" >"$DATA.log" 2>&1 &
fi
SERVER=$!
# The server runs in a session of its own: the whole group goes (moto_server is a pyenv shim
# whose python child would outlive a plain kill).
trap 'kill -- -"$SERVER" 2>/dev/null || true; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.2
done
if [ -z "$S3S_FS" ]; then
    curl -sf -X PUT "http://127.0.0.1:$PORT/dhub-test" >/dev/null
fi
DHUB_TEST_S3_ENDPOINT="http://127.0.0.1:$PORT" cargo test -p dhub-documents --test s3 -- --nocapture
