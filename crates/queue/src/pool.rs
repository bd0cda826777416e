//! The queue's own threads: every asynchronous queue operation runs here, never on the
//! libuv pool, so hundreds of commits waiting for a shared fsync hold no Node thread.
//!
//! One process-wide pool of `THREADS` threads, started on first use. The threads spend
//! their time blocked in fsync; the disk serves several flushes at once (this VM: about
//! 2,500 fsync'd creates/s on one thread, 7,000/s on eight), so the pool is sized to keep
//! the disk busy while group commit (dirsync.rs) shares the directory fsyncs.
//!
//! Guarantee: a submitted job runs exactly once. A job that panics takes its thread
//! with it; the pool starts a replacement (the job's completion callback, dropped in the
//! unwinding, is the caller's concern: the bindings resolve on drop).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

/// Number of queue threads.
pub const THREADS: usize = 32;

type Job = Box<dyn FnOnce() + Send + 'static>;

static POOL: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

/// Runs `job` on a queue thread.
pub fn submit(job: impl FnOnce() + Send + 'static) {
    let sender = POOL.get_or_init(start).lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Err(back) = sender.send(Box::new(job)) {
        // Unreachable while the process lives (the receiver is never dropped); run it here
        // rather than lose it.
        (back.0)();
    }
}

fn start() -> Mutex<Sender<Job>> {
    let (tx, rx) = channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    (0..THREADS).for_each(|i| spawn_worker(i, rx.clone()));
    Mutex::new(tx)
}

fn spawn_worker(i: usize, rx: Arc<Mutex<Receiver<Job>>>) {
    let name = format!("qmta-queue-{i}");
    let _ = thread::Builder::new().name(name).stack_size(256 * 1024).spawn(move || work(i, rx));
}

fn work(i: usize, rx: Arc<Mutex<Receiver<Job>>>) {
    struct Respawn(usize, Arc<Mutex<Receiver<Job>>>);
    impl Drop for Respawn {
        fn drop(&mut self) {
            if thread::panicking() {
                spawn_worker(self.0, self.1.clone());
            }
        }
    }
    let guard = Respawn(i, rx);
    loop {
        let job = guard.1.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_in_parallel() {
        let (tx, rx) = mpsc::channel();
        let barrier = Arc::new(std::sync::Barrier::new(8));
        for i in 0..8 {
            let (tx, b) = (tx.clone(), barrier.clone());
            submit(move || {
                b.wait(); // deadlocks unless 8 jobs run at once
                tx.send(i).unwrap();
            });
        }
        let mut got: Vec<i32> = (0..8).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_job_does_not_shrink_the_pool() {
        for _ in 0..THREADS + 2 {
            submit(|| panic!("job failure (expected in this test)"));
        }
        let (tx, rx) = mpsc::channel();
        submit(move || tx.send(1).unwrap());
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok(1));
    }
}
