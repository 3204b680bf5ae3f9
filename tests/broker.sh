#!/usr/bin/env bash
# Installs (once per machine) and starts the Kafka-compatible test broker on loopback.
#
#   tests/broker.sh          start it if nothing answers on DHUB_TEST_BROKERS, then wait until it does
#   tests/broker.sh stop     stop the broker this script started
#
# With DHUB_TEST_BROKERS pointing at another Kafka (e.g. Apache Kafka), nothing is installed or
# started: the script only checks that the broker answers.
set -euo pipefail

BROKERS="${DHUB_TEST_BROKERS:-127.0.0.1:9092}"
HOST="${BROKERS%%,*}"; HOST_ADDR="${HOST%:*}"; HOST_PORT="${HOST##*:}"
STATE_DIR="${DHUB_BROKER_DIR:-${TMPDIR:-/tmp}/dhub-broker}"
PID_FILE="$STATE_DIR/tansu.pid"
TANSU_VERSION="0.6.0"

answers() { (exec 3<>"/dev/tcp/$HOST_ADDR/$HOST_PORT") 2>/dev/null; }

if [[ "${1:-start}" == "stop" ]]; then
    if [[ -f "$PID_FILE" ]] && kill "$(cat "$PID_FILE")" 2>/dev/null; then echo "broker stopped"; fi
    rm -f "$PID_FILE"
    exit 0
fi

if answers; then
    echo "broker answers on $HOST"
    exit 0
fi

if [[ -n "${DHUB_TEST_BROKERS:-}" && "$HOST_ADDR" != "127.0.0.1" && "$HOST_ADDR" != "localhost" ]]; then
    echo "error: DHUB_TEST_BROKERS=$DHUB_TEST_BROKERS does not answer; start that broker first" >&2
    exit 1
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tansu >/dev/null 2>&1; then
    echo "installing tansu $TANSU_VERSION (once per machine; 10-20 minutes on 2 cores)..." >&2
    cargo install tansu --version "$TANSU_VERSION" --features dynostore,postgres --locked >&2
fi

mkdir -p "$STATE_DIR"
# In-memory storage: the test broker keeps nothing between runs, as tests create their own topics.
nohup tansu broker \
    --listener-url "tcp://$HOST_ADDR:$HOST_PORT" \
    --advertised-listener-url "tcp://$HOST_ADDR:$HOST_PORT" \
    --storage-engine memory://tansu/ \
    >"$STATE_DIR/tansu.log" 2>&1 &
echo $! >"$PID_FILE"

for _ in $(seq 1 100); do
    if answers; then
        echo "broker started on $HOST (pid $(cat "$PID_FILE"), log $STATE_DIR/tansu.log)"
        exit 0
    fi
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then break; fi
    sleep 0.1
done
echo "error: tansu did not start; its log:" >&2
tail -20 "$STATE_DIR/tansu.log" >&2
exit 1
