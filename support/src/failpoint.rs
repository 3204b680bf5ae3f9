//! Failure points for the crash tests: named places where the hub can be made to die by SIGKILL, so a
//! test lands its kill exactly between two steps whose order carries a guarantee (the store commit and
//! the source's acknowledgement, the broker's ack and its record, the middle of a transaction).
//!
//! Compiled in only with the `failpoints` feature (the `fail` crate, configured by the `FAILPOINTS`
//! environment variable, e.g. `FAILPOINTS=source.after_store=2*off->return`: the third time the point
//! is passed, the process kills itself). Without the feature [`hit`] and [`enabled`] are empty inline
//! functions: a release build carries no trace of them.
//!
//! `return` is the action that fires; its meaning here is always "SIGKILL this process now" — not a
//! panic, which would unwind, run destructors and let the runtime finish other work, the very things a
//! crash does not do.

/// Reads `FAILPOINTS` (call once, at the start of `main`). No-op without the feature.
pub fn setup_from_env() {
    #[cfg(feature = "failpoints")]
    std::mem::forget(fail::FailScenario::setup());
}

/// The process dies here by SIGKILL if the point `name` is set to fire.
#[inline(always)]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    if fail::eval(name, |_| ()).is_some() {
        kill_self();
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Whether the point `name` fires now (for the tests' deliberately broken variants, which do something
/// wrong and then die). Always `false` without the feature.
#[inline(always)]
pub fn enabled(name: &str) -> bool {
    #[cfg(feature = "failpoints")]
    return fail::eval(name, |_| ()).is_some();
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = name;
        false
    }
}

/// SIGKILL to ourselves: no unwinding, no destructors, no flush — as `kill -9` from outside.
pub fn kill_self() -> ! {
    // SAFETY: getpid and kill have no preconditions; SIGKILL cannot be caught.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}
