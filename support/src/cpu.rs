//! Where the hub's CPU goes, by pipeline stage. Each stage's synchronous work is timed with the
//! calling thread's CPU clock (not wall time: a stage waiting on a lock or the disk costs nothing
//! here) and added to a process-wide counter, exported as `dhub_stage_cpu_seconds_total{stage}` and
//! read by the benchmark to break the CPU per case down (issue 7). Timing a section costs two
//! `clock_gettime` calls, about 50 ns, once per batch or document, not per record.

use std::sync::atomic::{AtomicU64, Ordering};

/// The stages, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading a source document and decoding its bytes (GBK, UTF-8) into records.
    ReadDecode,
    /// Running the mapping over the records.
    Map,
    /// Validating mapped records against `disclosure.v1`, hashing them.
    Validate,
    /// Redacting per policy and building the envelopes.
    Redact,
    /// The ingest transaction on the hub's side (statements built and bound, rows decoded).
    Store,
    /// The relay: handing envelopes to the producer and recording acknowledgements.
    Relay,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::ReadDecode,
        Stage::Map,
        Stage::Validate,
        Stage::Redact,
        Stage::Store,
        Stage::Relay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ReadDecode => "read_decode",
            Stage::Map => "map",
            Stage::Validate => "validate",
            Stage::Redact => "redact",
            Stage::Store => "store",
            Stage::Relay => "relay",
        }
    }
}

static NANOS: [AtomicU64; 6] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

/// The calling thread's CPU time so far, in nanoseconds.
pub fn thread_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux and BSDs.
    let failed = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0;
    if failed {
        return 0;
    }
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Runs `work` and adds the CPU time it took on this thread to `stage`. Only for synchronous work:
/// across an `.await` the thread may run other tasks, whose time would be counted too.
pub fn measure<T>(stage: Stage, work: impl FnOnce() -> T) -> T {
    let started = thread_nanos();
    let result = work();
    add(stage, thread_nanos().saturating_sub(started));
    result
}

/// Adds CPU nanoseconds measured elsewhere to a stage.
pub fn add(stage: Stage, nanos: u64) {
    NANOS[stage as usize].fetch_add(nanos, Ordering::Relaxed);
}

/// CPU seconds per stage since the process started.
pub fn totals() -> [(Stage, f64); 6] {
    Stage::ALL.map(|stage| {
        (
            stage,
            NANOS[stage as usize].load(Ordering::Relaxed) as f64 / 1e9,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_is_counted_and_sleep_is_not() {
        let before = totals()[Stage::Map as usize].1;
        measure(Stage::Map, || {
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
        });
        let busy = totals()[Stage::Map as usize].1 - before;
        assert!(
            busy > 0.001,
            "20M multiply-adds take more than a millisecond: {busy}"
        );
        let before = totals()[Stage::Relay as usize].1;
        measure(Stage::Relay, || {
            std::thread::sleep(std::time::Duration::from_millis(200))
        });
        let slept = totals()[Stage::Relay as usize].1 - before;
        assert!(slept < 0.05, "sleeping costs no CPU: {slept}");
    }
}
