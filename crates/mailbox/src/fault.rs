//! Fault injection for the crash tests, compiled only under `cfg(test)`.
//!
//! The writers call `at(Step::X)` after each step. In a normal build that is an empty
//! inline function. In a test build a test can arm one step on its own thread with a
//! fault: `Fail(errno)` makes the step report that OS error (the writer's error path
//! runs: cleanup, truncation), `Crash` panics (no cleanup runs, as if the process had
//! been killed there; only descriptors are closed, as the kernel would).

/// The points at which a writer can be stopped, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    TmpCreated,
    HeadersWritten,
    BodyWritten,
    Synced,
    Closed,
    Linked,
    NewSynced,
    MboxLocked,
    /// After each write(2) of mbox bytes: a failure here leaves part of a message.
    MboxChunk,
    MboxWritten,
    MboxSynced,
}

#[cfg(not(test))]
#[inline(always)]
pub fn at(_step: Step) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
pub use armed::{arm, at, Fault};

#[cfg(test)]
mod armed {
    use super::Step;
    use std::cell::Cell;
    use std::io;

    #[derive(Clone, Copy, Debug)]
    pub enum Fault {
        Fail(i32),
        Crash,
    }

    thread_local! {
        static ARMED: Cell<Option<(Step, Fault)>> = const { Cell::new(None) };
    }

    /// Arms `fault` for the next time this thread reaches `step`; it fires once.
    pub fn arm(step: Step, fault: Fault) {
        ARMED.with(|a| a.set(Some((step, fault))));
    }

    pub fn at(step: Step) -> io::Result<()> {
        match ARMED.with(|a| a.get()) {
            Some((s, fault)) if s == step => {
                ARMED.with(|a| a.set(None));
                match fault {
                    Fault::Fail(errno) => Err(io::Error::from_raw_os_error(errno)),
                    Fault::Crash => panic!("injected crash at {step:?}"),
                }
            }
            _ => Ok(()),
        }
    }
}
