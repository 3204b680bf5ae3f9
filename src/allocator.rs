//! How the process's allocator (mimalloc, the binary's global allocator) gives memory back, set
//! once at the start of `main`. Two defaults of mimalloc 3 held on to memory the hub no longer used,
//! and made up a quarter of its peak RSS in the end-to-end benchmark (README "Benchmark"):
//!
//! - **Purge delay.** Freed pages are returned to the OS only after `purge_delay` (1,000 ms by
//!   default). The hub frees a whole batch (an export file of 1,000 cases: its parse tree, mapped
//!   records, redactions, envelopes) every few hundred milliseconds, so up to a second's worth of
//!   batches stayed resident. 100 ms keeps what the next batch will reuse soon and returns the rest.
//! - **Transparent huge pages.** mimalloc asks for huge pages on its arenas; a 2 MB page counts in
//!   full towards RSS as soon as one byte of it is touched, and is not given back until every byte
//!   is free. The hub's allocations are small and short-lived, so huge pages mostly added RSS.
//!
//! Measured in one session (2026-11-26, `cargo bench --bench e2e`, peak RSS of the throughput phase
//! of 100,000 cases / of a backlog of 351,000 envelopes with the broker down): 300–308 / 309–330 MB
//! with mimalloc's defaults, 226–239 / 238–247 MB with these, at the same throughput within the
//! run-to-run noise; either alone saved 20–45 MB. A purge delay of 0–25 ms saved another
//! 10–20 MB but cost 4–12 % of the throughput (more page faults and `madvise` calls).
//!
//! The operator's `MIMALLOC_PURGE_DELAY` (milliseconds) or `MIMALLOC_ALLOW_THP` (`1`: allow)
//! environment variables win over these settings.

/// How long freed memory stays with the allocator before it goes back to the OS, in milliseconds.
pub const PURGE_DELAY_MS: i64 = 100;

/// `mi_option_purge_delay` in `mimalloc.h` (v2 and v3 alike); `libmimalloc-sys` names no constant
/// for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Applies the settings above unless the environment sets them (see the module header).
pub fn tune() {
    tune_with(|name| std::env::var_os(name).is_some());
}

fn tune_with(set_in_environment: impl Fn(&str) -> bool) {
    if !set_in_environment("MIMALLOC_PURGE_DELAY") {
        // SAFETY: sets a plain integer option; mimalloc reads it at each purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _) };
    }
    if !set_in_environment("MIMALLOC_ALLOW_THP") {
        // For the whole process, also where the kernel gives huge pages to every mapping (THP
        // `always`), and for the memory of SQLite and librdkafka (the C heap). A kernel without the
        // call leaves things as they were.
        // SAFETY: PR_SET_THP_DISABLE takes an integer flag and touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

/// The purge delay mimalloc uses now, in milliseconds.
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reads a plain integer option.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) as i64 }
}

/// Whether transparent huge pages are off for this process.
pub fn huge_pages_disabled() -> bool {
    // SAFETY: PR_GET_THP_DISABLE only reads the process's flag.
    unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_goes_back_after_100_ms_and_huge_pages_are_off() {
        // mimalloc 3's own default is 1,000 ms (the option's index is right if this reads it).
        tune_with(|_| true);
        assert_eq!(purge_delay_ms(), 1000);
        tune_with(|_| false);
        assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
        assert!(huge_pages_disabled());
    }
}
