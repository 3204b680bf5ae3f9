#!/usr/bin/env bash
# The long fault runs (issue 9), not part of tests/run.sh. Each ends with the platforms' views
# identical to what a clean run leaves (every record in force at version 1, the revoked ones gone),
# nothing pending, the audit chain intact, no export set aside:
#
#   1. SIGKILL: 100,000 cases through the hub (SQLite state, the test broker, the four demo
#      platforms), the hub SIGKILLed 20 times while it reads and publishes, restarted each time;
#   2. broker down: a private broker stops answering (SIGSTOP) with envelopes in flight and comes
#      back (SIGCONT) after 60 s;
#   3. Postgres state store restarted mid-run (a private cluster on its own port, never the
#      machine's shared one), twice, 5 s down each time;
#   4. the SQLite state's disk full: the state on a small tmpfs, filled mid-run for 20 s, then freed.
#   Then the crash-at-a-point tests at full size.
#
#   tests/faults.sh                          everything at the default sizes (release build)
#   DHUB_FAULT_ONLY="broker disk" tests/faults.sh   some of: sigkill broker postgres disk failpoints
#   DHUB_FAULT_CASES=10000 tests/faults.sh   smaller runs (the default is 100,000 for the SIGKILL run
#                                            and 10,000 for the others)
#   DHUB_FAULT_PROFILE=dev tests/faults.sh   without the release build (slower hub, quicker build)
#
# Also DHUB_FAULT_KILLS (20), DHUB_FAULT_KILL_EVERY_MS (1500: kills come at varied moments around
# it), DHUB_FAULT_FILE_CASES (1000 cases per export file for the SIGKILL run, 500 for the others),
# DHUB_FAULT_OUTAGE_SECS (60), DHUB_FAULT_PG_DOWN_SECS (5), DHUB_FAULT_PG_RESTARTS (2),
# DHUB_FAULT_DISK_MB (512), DHUB_FAULT_DISK_FULL_SECS (20). Runs 2-4 need root (su postgres,
# mount). The figures go to the README's "Fault runs".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

tests/broker.sh

only="${DHUB_FAULT_ONLY:-sigkill broker postgres disk failpoints}"
wants() { [[ " $only " == *" $1 "* ]]; }

profile=(--release)
if [[ "${DHUB_FAULT_PROFILE:-release}" == "dev" ]]; then profile=(); fi
crash() { cargo test "${profile[@]}" --locked --test crash -- --ignored --nocapture --exact "$1"; }

if wants sigkill; then
    crash long_fault_run_sigkill_many_times_ends_identical_to_a_clean_run
fi
# The other runs default to 10,000 cases unless DHUB_FAULT_CASES says otherwise; their files hold 500.
(
    export DHUB_FAULT_CASES="${DHUB_FAULT_CASES:-10000}"
    export DHUB_FAULT_FILE_CASES="${DHUB_FAULT_FILE_CASES:-500}"
    if wants broker; then
        crash fault_run_broker_down_for_a_minute_ends_identical_to_a_clean_run
    fi
    if wants postgres; then
        crash fault_run_postgres_state_restarted_mid_run_ends_identical_to_a_clean_run
    fi
    if wants disk; then
        # The small file system for the SQLite state, unmounted however the run ends.
        disk="$(mktemp -d)"
        trap 'umount -l "$disk" 2>/dev/null || true; rmdir "$disk" 2>/dev/null || true' EXIT
        mount -t tmpfs -o "size=${DHUB_FAULT_DISK_MB:-512}m" dhub-fault-disk "$disk"
        DHUB_FAULT_DISK="$disk" crash fault_run_sqlite_disk_full_mid_run_ends_identical_to_a_clean_run
    fi
)

# The crash-at-a-point tests (issue 12) at full size: every failure point, SQLite and Postgres, with
# DHUB_FAILPOINT_CASES cases per system (the normal test run uses 60).
if wants failpoints; then
    DHUB_FAILPOINT_CASES="${DHUB_FAILPOINT_CASES:-2000}" \
        cargo test "${profile[@]}" --locked --features dhub/failpoints --test failpoints -- --nocapture
fi
