#!/usr/bin/env bash
# The demo, from nothing: starts the broker (installing it once if missing), builds dhub, starts one
# reference platform subscriber per feed and the hub, feeds the first state of eight department
# systems — one source of every kind: two XML export folders, a SQL case database, an HTTP push, a
# department API pulled page by page, a department Kafka topic and two 双公示 spreadsheet folders —
# then their second state (some decisions revoked), and shows what each platform holds after each,
# against the counts of mappings/samples/EXPECTED.md.
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
(cd "$REPO" && cargo build --release -p dhub -p dhub-testkit --bin dhub --bin dept-api --bin kafka-produce)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
DHUB="$TARGET_DIR/release/dhub"
DEPT_API="$TARGET_DIR/release/dept-api"
KAFKA_PRODUCE="$TARGET_DIR/release/kafka-produce"

say "checking the demo config"
"$DHUB" check --config "$DEMO_DIR/hub.toml"

rm -rf "$WORK"
mkdir -p "$WORK/platforms" "$WORK/logs"
for folder in finance-oa market-supervision sgs-penalty sgs-licensing; do mkdir -p "$WORK/inbox/$folder"; done
SAMPLES="$REPO/mappings/samples"

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

say "department systems: a case database, a case API, a Kafka topic"
# 聊城市综合行政执法's case database (SQLite here; the README shows Postgres with NOTIFY).
sql_run() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2],encoding="utf-8").read()); c.commit()' "$WORK/case-db.sqlite" "$1"; }
sql_run "$SAMPLES/case-db/schema.sql"
# 聊城市生态环境局's case API (the simulator serves mappings/samples/dept-api page by page).
"$DEPT_API" --port 9480 --token demo-dept-api-token --pages "$SAMPLES/dept-api" >"$WORK/logs/dept-api.log" 2>&1 &
PIDS+=($!)
# 东阿县交通运输局's topic: emptied, so that a broker kept from an earlier run does not replay it.
"$KAFKA_PRODUCE" --brokers "$BROKERS" --topic djt.cases --partitions 3 --recreate /dev/null >/dev/null

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

# What each platform must show after each state: the counts of mappings/samples/EXPECTED.md, both
# parts (XML sources, and the other kinds), the province under its own policy: it withholds the four
# simple-procedure warnings, and fails closed on the seven valid 双公示 penalties, whose template has
# no procedure column to decide that rule by.
declare -A EXPECT_FIRST=(
    [disclosure.county.371523]=41 [disclosure.county.371524]=37
    [disclosure.city.371500]=101 [disclosure.province.370000]=90
)
declare -A EXPECT_SECOND=(
    [disclosure.county.371523]=35 [disclosure.county.371524]=30
    [disclosure.city.371500]=86 [disclosure.province.370000]=76
)

visible() { # topic → number of records the platform shows
    curl -sf "http://127.0.0.1:${PLATFORM_PORT[$1]}/records?limit=1" 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null || echo "?"
}

kept() { # topic → number of decision documents (public versions) the platform keeps
    find "$WORK/platforms/$1.documents" -type f ! -name '.*' 2>/dev/null | wc -l
}

show() { # name of the expected-count table
    local -n expected="$1"
    printf '  %-30s %14s %9s %15s\n' "feed" "records shown" "expected" "documents kept"
    for topic in "${TOPICS[@]}"; do
        printf '  %-30s %14s %9s %15s\n' "$topic" "$(visible "$topic")" "${expected[$topic]}" "$(kept "$topic")"
    done
}

all_as_expected() { # name of the expected-count table
    local -n wanted="$1"
    for topic in "${TOPICS[@]}"; do [[ "$(visible "$topic")" == "${wanted[$topic]}" ]] || return 1; done
}

wait_settled() { # name of the expected-count table: until every platform shows its count (90 s at most)
    for _ in $(seq 1 90); do
        all_as_expected "$1" && return 0
        sleep 1
    done
    echo "  warning: the platforms do not show the expected counts after 90 s (logs: $WORK/logs/)" >&2
    MISMATCH=1
}
MISMATCH=0

post_json() { # file → POST to the hub's /ingest/county-push as the county's office system would
    local answer
    answer="$(curl -s -o /dev/stderr -w '%{http_code}' -H 'Authorization: Bearer demo-county-push-token' \
        -H 'Content-Type: application/json' --data-binary "@$1" http://127.0.0.1:9464/ingest/county-push 2>"$WORK/logs/push-answer.json")"
    echo "  POST $(basename "$1") → $answer $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print("accepted %s, held back %s" % (b.get("accepted"), len(b.get("rejected", []))))' "$WORK/logs/push-answer.json" 2>/dev/null || true)"
}

feed_state() { # first | second: every department system moves to that state
    local state="$1"
    # Decision documents first: an export names them, so they must be beside it when it is read.
    if [[ "$state" == "first" ]]; then
        mkdir -p "$WORK/inbox/market-supervision/decisions"
        cp "$SAMPLES"/market-supervision/decisions/*.html "$WORK/inbox/market-supervision/decisions/"
    fi
    cp "$SAMPLES"/finance-oa/"$state"/*.xml "$WORK/inbox/finance-oa/"
    cp "$SAMPLES"/market-supervision/"$state"/*.xml "$WORK/inbox/market-supervision/"
    cp "$SAMPLES"/sgs-penalty/"$state"/* "$WORK/inbox/sgs-penalty/"
    cp "$SAMPLES"/sgs-licensing/"$state"/* "$WORK/inbox/sgs-licensing/"
    sql_run "$SAMPLES/case-db/$state.sql"
    for file in "$SAMPLES"/county-push/"$state"/*.json; do post_json "$file"; done
    [[ "$state" == "first" ]] || curl -sf -X POST "http://127.0.0.1:9480/stage/$state" >/dev/null
    "$KAFKA_PRODUCE" --brokers "$BROKERS" --topic djt.cases --key-pointer /case_id \
        "$SAMPLES"/dept-kafka/"$state"/*.jsonl >/dev/null
}

say "first state: XML exports (GBK, UTF-8), database rows, an HTTP push, API pages, Kafka messages, 双公示 sheets"
feed_state first
wait_settled EXPECT_FIRST
show EXPECT_FIRST

say "second state: some decisions revoked in every system"
feed_state second
wait_settled EXPECT_SECOND
show EXPECT_SECOND

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
    exit "$MISMATCH"
fi
say "running; Ctrl-C stops the hub and the platforms"
wait
