//! Fault injection for the crash tests, compiled only under `cfg(test)`.
//!
//! The writers call `at(Step::X)` after each step. In a normal build that is an empty
//! inline function. In a test build a test can arm steps on its own thread with a
//! fault: `Fail(errno)` makes the step report that OS error (the writer's error path
//! runs: cleanup, truncation), `Crash` panics (no cleanup runs, as if the process had
//! been killed there; only descriptors are closed, as the kernel would).

/// The points at which a writer can be stopped, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Before the O_TMPFILE open: a failure there with EOPNOTSUPP takes the named path.
    Nameless,
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
    use std::cell::RefCell;
    use std::io;

    #[derive(Clone, Copy, Debug)]
    pub enum Fault {
        Fail(i32),
        Crash,
    }

    thread_local! {
        static ARMED: RefCell<Vec<(Step, Fault)>> = const { RefCell::new(Vec::new()) };
    }

    /// Arms `fault` for the next time this thread reaches `step`; it fires once. Several
    /// steps can be armed at once (the named path and a fault further on).
    pub fn arm(step: Step, fault: Fault) {
        ARMED.with(|a| a.borrow_mut().push((step, fault)));
    }

    pub fn at(step: Step) -> io::Result<()> {
        let fired = ARMED.with(|a| {
            let mut armed = a.borrow_mut();
            let i = armed.iter().position(|(s, _)| *s == step)?;
            Some(armed.remove(i).1)
        });
        match fired {
            Some(Fault::Fail(errno)) => Err(io::Error::from_raw_os_error(errno)),
            Some(Fault::Crash) => panic!("injected crash at {step:?}"),
            None => Ok(()),
        }
    }
}
