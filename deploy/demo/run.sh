#!/usr/bin/env bash
# The demo, from nothing: starts the broker (installing it once if missing), builds dhub, starts one
# reference platform subscriber per feed and the hub, feeds the first department exports, then the
# revoking second exports, and shows what each platform holds after each.
#
#   deploy/demo/run.sh            runs, then keeps everything up until Ctrl-C
#   DEMO_EXIT=1 deploy/demo/run.sh   exits (stopping the hub and platforms) once the demo has shown its result
#
# Everything it writes lives under deploy/demo/.dhub/ (removed at the start of each run).
set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$DEMO_DIR/../.." && pwd)"
WORK="$DEMO_DIR/.dhub"
BROKERS="${DHUB_KAFKA__BROKERS:-127.0.0.1:9092}"
export DHUB_TEST_BROKERS="$BROKERS"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "broker"
"$REPO/tests/broker.sh"

say "building dhub (release)"
(cd "$REPO" && cargo build --release --bin dhub)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
DHUB="$TARGET_DIR/release/dhub"

say "checking the demo config"
"$DHUB" check --config "$DEMO_DIR/hub.toml"

rm -rf "$WORK"
mkdir -p "$WORK/inbox/finance-oa" "$WORK/inbox/market-supervision" "$WORK/platforms" "$WORK/logs"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Each demo run starts from an empty state store, so it also gets feed topics of its own (a prefix,
# CONTRACT §4): on a broker that kept an earlier run's messages, the platforms would otherwise apply
# that run's later retractions to this run's first export.
RUN_ID="$(date +%s)"
export DHUB_KAFKA__TOPIC_PREFIX="demo$RUN_ID."
declare -A PLATFORM_PORT=(
    [disclosure.county.371523]=9471 [disclosure.county.371524]=9472
    [disclosure.city.371500]=9473 [disclosure.province.370000]=9474
)
TOPICS=(disclosure.county.371523 disclosure.county.371524 disclosure.city.371500 disclosure.province.370000)

say "starting the hub"
"$DHUB" run --config "$DEMO_DIR/hub.toml" >"$WORK/logs/hub.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:9464/healthz >/dev/null 2>&1 && break
    sleep 0.2
done
# The hub creates the feed topics; wait until it is ready (store and broker answer).
for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:9464/readyz >/dev/null 2>&1 && break
    sleep 0.2
done

say "starting one reference platform per feed"
for topic in "${TOPICS[@]}"; do
    port="${PLATFORM_PORT[$topic]}"
    "$DHUB" platform --brokers "$BROKERS" --topic "$DHUB_KAFKA__TOPIC_PREFIX$topic" --group "demo-$RUN_ID-$topic" \
        --db "sqlite://$WORK/platforms/$topic.db" --listen "127.0.0.1:$port" \
        --documents "$WORK/platforms/$topic.documents" \
        >"$WORK/logs/platform-$topic.log" 2>&1 &
    PIDS+=($!)
    echo "  $DHUB_KAFKA__TOPIC_PREFIX$topic  → http://127.0.0.1:$port/records?q="
done

visible() { # topic → number of records the platform shows
    curl -sf "http://127.0.0.1:${PLATFORM_PORT[$1]}/records?limit=1" 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null || echo "?"
}

kept() { # topic → number of decision documents (public versions) the platform keeps
    find "$WORK/platforms/$1.documents" -type f ! -name '.*' 2>/dev/null | wc -l
}

show() {
    printf '  %-30s %-15s %s\n' "feed" "records shown" "documents kept"
    for topic in "${TOPICS[@]}"; do
        printf '  %-30s %-15s %s\n' "$topic" "$(visible "$topic")" "$(kept "$topic")"
    done
}

wait_settled() { # until the hub's outbox is empty and the platform counts stop changing
    local last="" now
    for _ in $(seq 1 60); do
        sleep 1
        now="$(show)"
        pending="$(curl -sf http://127.0.0.1:9464/api/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["outbox_pending"])' 2>/dev/null || echo '?')"
        [[ "$pending" == "0" && "$now" == "$last" ]] && return 0
        last="$now"
    done
}

say "first exports: 茌平县财政局 (GBK) and 东阿县/聊城市 市场监督管理局 (UTF-8)"
# Decision documents first: an export names them, so they must be beside it when it is read.
mkdir -p "$WORK/inbox/market-supervision/decisions"
cp "$REPO"/mappings/samples/market-supervision/decisions/*.html "$WORK/inbox/market-supervision/decisions/"
cp "$REPO"/mappings/samples/finance-oa/first/*.xml "$WORK/inbox/finance-oa/"
cp "$REPO"/mappings/samples/market-supervision/first/*.xml "$WORK/inbox/market-supervision/"
wait_settled
show

say "second exports: some decisions revoked"
cp "$REPO"/mappings/samples/finance-oa/second/*.xml "$WORK/inbox/finance-oa/"
cp "$REPO"/mappings/samples/market-supervision/second/*.xml "$WORK/inbox/market-supervision/"
wait_settled
show

say "held in quarantine (withheld by policy or invalid), with reasons"
"$DHUB" quarantine list --config "$DEMO_DIR/hub.toml" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print("  #%s %-10s %s: %s" % (e["id"], e["stage"], e["record_id"], e["reason"][:110]))'

cat <<EOF

  dashboard:        http://127.0.0.1:9464/
  metrics:          http://127.0.0.1:9464/metrics
  platform search:  http://127.0.0.1:9473/records?q=东阿   (city feed; 9471/9472 counties, 9474 province)
  a decision's public version (公开版): http://127.0.0.1:9472/?document_no=东市监罚〔2026〕18号 → 公开版
  trace a record:   $DHUB trace --config $DEMO_DIR/hub.toml finance-oa:<key>
  logs:             $WORK/logs/
EOF

if [[ "${DEMO_EXIT:-0}" == "1" ]]; then
    exit 0
fi
say "running; Ctrl-C stops the hub and the platforms"
wait
