//! Crash points for the crash tests (crates/queue/tests/crash.rs).
//!
//! With the `fault-injection` feature, `point(name)` kills the process with SIGKILL
//! when the environment variable QMTA_QUEUE_FAULT is `name:k` and this is the k-th time
//! (1-based) the point is reached. Without the feature it compiles to nothing, so
//! production builds carry no trace of it.

#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static HITS: AtomicU64 = AtomicU64::new(0);
    let Ok(spec) = std::env::var("QMTA_QUEUE_FAULT") else { return };
    let Some((want, k)) = spec.split_once(':') else { return };
    if want == name && k.parse::<u64>().ok() == Some(HITS.fetch_add(1, Ordering::SeqCst) + 1) {
        // SAFETY: sending a signal to ourselves has no memory-safety preconditions.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
