//! Group commit by filesystem, as a pipeline: each filesystem written to has one sync
//! thread that runs syncfs(2) in rounds; a round covers every write queued before it
//! started, and its callbacks run on that thread when it completes.
//! Why: on the project's machines a message's own fsyncs (the file, then its new/ folder)
//! cost several device requests and two cache flushes, each a round trip to the (virtual)
//! disk; one syncfs writes the dirty blocks of every message accepted meanwhile, merged,
//! behind one flush (README, "Two delivery paths, one promise"; bench smtp-e2e --fsync).
//! A delivery needs two syncs (its file, then its link); as one thread's rounds, one
//! syncfs serves the first step of the messages just written and the second step of those
//! linked in the round before, and no message parks a thread of its own while it waits:
//! a thread per waiter cost, in futex waits and context switches, about as much CPU as the
//! syncs themselves. The cost: syncfs also writes whatever else is dirty on that
//! filesystem (control/directsync says when to prefer fsync).
//!
//! Interface: `of(fd)` finds `fd`'s filesystem; `Filesystem::after_sync(then)` runs `then`
//! on the sync thread once a syncfs that started after the call has completed, with its
//! result. `then` must not block: it holds up every later round.
//! Failure: a round's I/O error goes to its callbacks and to every callback queued while it
//! ran (a write queued then may have been in the writeback that failed; syncfs reports an
//! error once).
//! Guarantee: writeback errors reach the caller. syncfs reports an error to a descriptor
//! opened before it happened, so each filesystem's syncs run on one descriptor kept from
//! the first caller (a duplicate of its file, opened before its write; that one file's
//! inode stays allocated while the process runs).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

type Then = Box<dyn FnOnce(io::Result<()>) + Send>;

type SyncOp = Box<dyn Fn() -> io::Result<()> + Send + Sync>;

pub struct Filesystem {
    /// syncfs of the descriptor kept (tests give another operation).
    sync: SyncOp,
    state: Mutex<Rounds>,
    ready: Condvar,
}

#[derive(Default)]
struct Rounds {
    /// Callbacks for the next round.
    waiting: Vec<Then>,
    /// The sync thread waits for work (a queued callback must wake it).
    idle: bool,
}

/// The filesystems written to so far, by device number.
fn filesystems() -> &'static Mutex<HashMap<u64, Arc<Filesystem>>> {
    static FILESYSTEMS: OnceLock<Mutex<HashMap<u64, Arc<Filesystem>>>> = OnceLock::new();
    FILESYSTEMS.get_or_init(Mutex::default)
}

/// The filesystem `fd` is on (its sync thread started on first use).
pub fn of(fd: BorrowedFd) -> io::Result<Arc<Filesystem>> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    let mut map = lock(filesystems());
    if let Some(fs) = map.get(&st.st_dev) {
        return Ok(fs.clone());
    }
    let kept: OwnedFd = fd.try_clone_to_owned()?;
    let fs = start(Box::new(move || cvt(unsafe { libc::syncfs(kept.as_raw_fd()) })))?;
    map.insert(st.st_dev, fs.clone());
    Ok(fs)
}

/// A filesystem whose rounds run `sync`, on a thread of its own.
fn start(sync: SyncOp) -> io::Result<Arc<Filesystem>> {
    let fs = Arc::new(Filesystem { sync, state: Mutex::default(), ready: Condvar::new() });
    let thread = fs.clone();
    std::thread::Builder::new().name("qmta-fssync".into()).spawn(move || thread.run())?;
    Ok(fs)
}

impl Filesystem {
    /// Runs `then` once every change made on this filesystem before the call is durable.
    pub fn after_sync(&self, then: impl FnOnce(io::Result<()>) + Send + 'static) {
        let mut s = lock(&self.state);
        s.waiting.push(Box::new(then));
        if std::mem::take(&mut s.idle) {
            self.ready.notify_one();
        }
    }

    fn run(&self) {
        loop {
            let mut callbacks = self.next_round();
            let synced = (self.sync)();
            if synced.is_err() {
                callbacks.append(&mut lock(&self.state).waiting);
            }
            for then in callbacks {
                let r = again(&synced);
                // A panicking callback must not end the thread every later delivery needs.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| then(r)));
            }
        }
    }

    /// Waits for callbacks and takes them all.
    fn next_round(&self) -> Vec<Then> {
        let mut s = lock(&self.state);
        while s.waiting.is_empty() {
            s.idle = true;
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.idle = false;
        std::mem::take(&mut s.waiting)
    }
}

/// Runs `then` once every filesystem of `all` has synced (`after_sync`), with the first
/// error if any.
pub fn after_all(all: &[Arc<Filesystem>], then: impl FnOnce(io::Result<()>) + Send + 'static) {
    match all {
        [] => then(Ok(())),
        [fs] => fs.after_sync(then),
        _ => {
            let join = Arc::new(Mutex::new(Join { left: all.len(), result: Ok(()), then: Some(Box::new(then)) }));
            for fs in all {
                let join = join.clone();
                fs.after_sync(move |r| lock(&join).one(r));
            }
        }
    }
}

struct Join {
    left: usize,
    result: io::Result<()>,
    then: Option<Then>,
}

impl Join {
    fn one(&mut self, r: io::Result<()>) {
        if self.result.is_ok() {
            self.result = r;
        }
        self.left -= 1;
        if self.left == 0 {
            if let Some(then) = self.then.take() {
                then(std::mem::replace(&mut self.result, Ok(())));
            }
        }
    }
}

/// The same sync result again, for another waiter (io::Error is not Clone; a sync's error
/// is its errno).
pub fn again(r: &io::Result<()>) -> io::Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn cvt(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn every_callback_runs_once_and_a_callback_may_queue_the_next_step() {
        let file = std::fs::File::open(std::env::temp_dir()).unwrap();
        let fs = of(std::os::fd::AsFd::as_fd(&file)).unwrap();
        let (tx, rx) = mpsc::channel();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (fs, tx) = (fs.clone(), tx.clone());
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let (next, tx) = (fs.clone(), tx.clone());
                        fs.after_sync(move |r| {
                            r.unwrap();
                            next.after_sync(move |r| tx.send((t, i, r.is_ok())).unwrap());
                        });
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(tx);
        let mut got: Vec<_> = rx.iter().collect();
        got.sort_unstable();
        let want: Vec<_> = (0..8).flat_map(|t| (0..50).map(move |i| (t, i, true))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_failed_round_fails_its_callbacks_and_those_queued_while_it_ran() {
        let (round_tx, round_rx) = mpsc::channel::<io::Result<()>>();
        let (entered_tx, entered_rx) = mpsc::channel();
        let round_rx = Mutex::new(round_rx);
        let fs = start(Box::new(move || {
            entered_tx.send(()).unwrap();
            lock(&round_rx).recv().unwrap()
        }))
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let tell = |name: &'static str| {
            let tx = tx.clone();
            move |r: io::Result<()>| tx.send((name, r.map_err(|e| e.raw_os_error()))).unwrap()
        };
        fs.after_sync(tell("in the round"));
        entered_rx.recv().unwrap();
        fs.after_sync(tell("queued while it ran"));
        round_tx.send(Err(io::Error::from_raw_os_error(libc::EIO))).unwrap();
        let next = || rx.recv_timeout(std::time::Duration::from_secs(10)).expect("a callback ran");
        let mut got = vec![next(), next()];
        got.sort_unstable();
        assert_eq!(got, vec![("in the round", Err(Some(libc::EIO))), ("queued while it ran", Err(Some(libc::EIO)))]);
        fs.after_sync(tell("after it"));
        entered_rx.recv().unwrap();
        round_tx.send(Ok(())).unwrap();
        assert_eq!(next(), ("after it", Ok(())));
    }

    #[test]
    fn after_all_of_no_filesystem_runs_at_once() {
        let (tx, rx) = mpsc::channel();
        after_all(&[], move |r| tx.send(r.is_ok()).unwrap());
        assert_eq!(rx.try_recv(), Ok(true));
    }
}
