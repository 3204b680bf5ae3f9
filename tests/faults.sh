#!/usr/bin/env bash
# The long fault run (issue 9), not part of tests/run.sh: 100,000 cases through the hub (release
# build, SQLite state, the test broker, the four demo platforms), the hub SIGKILLed 20 times while
# it reads and publishes and restarted each time; the platforms' views must end identical to what
# a clean run leaves (every record in force at version 1, the revoked ones gone), nothing pending,
# the audit chain intact.
#
#   tests/faults.sh                        the full run
#   DHUB_FAULT_CASES=10000 tests/faults.sh a reduced run
#   DHUB_FAULT_PROFILE=dev tests/faults.sh without the release build (slower hub, quicker build)
#
# Also DHUB_FAULT_KILLS (20), DHUB_FAULT_KILL_EVERY_MS (1500: kills come at varied moments around
# it), DHUB_FAULT_FILE_CASES (1000 cases per export file). The figures go to the README's
# "Fault runs". Then the crash-at-a-point tests at full size. Broker outage, Postgres restart and
# SQLite disk-full runs are not scripted yet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

tests/broker.sh

profile=(--release)
if [[ "${DHUB_FAULT_PROFILE:-release}" == "dev" ]]; then profile=(); fi
cargo test "${profile[@]}" --locked --test crash -- --ignored --nocapture \
    long_fault_run_sigkill_many_times_ends_identical_to_a_clean_run

# The crash-at-a-point tests (issue 12) at full size: every failure point, SQLite and Postgres, with
# DHUB_FAILPOINT_CASES cases per system (the normal test run uses 60).
DHUB_FAILPOINT_CASES="${DHUB_FAILPOINT_CASES:-2000}" \
    cargo test "${profile[@]}" --locked --features dhub/failpoints --test failpoints -- --nocapture
