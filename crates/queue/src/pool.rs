//! The queue's own threads: every asynchronous queue operation runs here, never on the
//! libuv pool, so hundreds of commits waiting for their batch hold no Node thread.
//!
//! Three process-wide pools, started on first use:
//! - `submit`: whole operations (preprocess, remove, add_file, ...) that may block, even on
//!   a commit (add_file waits for its batch);
//! - `leaf`: the file steps and fsyncs of each commit (commit.rs), never waiting for another
//!   job (a directory fsync may wait for one already running on another thread, dirsync.rs,
//!   never for a queued job);
//! - `parallel`: the per-subdirectory work of a commit stage (links, a directory fsync),
//!   never waiting for another job either, on its own threads so it never queues behind a
//!   backlog of leaf jobs.
//!
//! Jobs that wait for other jobs and the jobs they wait for never share a pool, so no pool
//! can starve itself.
//!
//! All spend their time blocked in fsync; the disk serves many flushes at once (this VM:
//! about 2,500 fsync'd creates/s on one thread, 7,000/s on eight, little more beyond), so
//! the pools are sized from the machine: wider than the cores (the threads mostly wait),
//! but not so wide that a small machine spends its time switching between them.
//!
//! Every pool thread (and the commit's todo stage) runs as SCHED_BATCH (`batch_policy`), so
//! that waking one never preempts the event loop's thread.
//!
//! Guarantee: a submitted job runs exactly once. A job that panics takes its thread
//! with it; the pool starts a replacement.

use std::collections::VecDeque;
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;

/// Threads of the operations pool: 4 per core, 8 to 16.
pub fn threads() -> usize {
    per_core(4, 8, 16)
}
/// Threads of the leaf pool (commit steps): as wide as the usual number of adds in flight,
/// whatever the cores, because each commit waits on three fsyncs at once (body, envelope,
/// mess/ directory, as three jobs) and the disk serves many at once. Measured on 2 cores at
/// 64 adds in flight: 8 threads reached 0.51 of the raw loop's rate, 64 threads 1.05-1.11
/// (bench/queue.ts; 1.04 with the three jobs).
fn leaf_threads() -> usize {
    64
}
/// Threads for the subdirectory groups of a commit stage.
pub const GROUP_THREADS: usize = 8;

fn per_core(each: usize, min: usize, max: usize) -> usize {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    (cores * each).clamp(min, max)
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool's job list: a submit wakes exactly one idle thread (a channel behind a mutex
/// woke two: the receiver, then the next thread waiting for the mutex).
struct Pool {
    name: &'static str,
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

static OPS: OnceLock<Arc<Pool>> = OnceLock::new();
static LEAF: OnceLock<Arc<Pool>> = OnceLock::new();
static GROUPS: OnceLock<Arc<Pool>> = OnceLock::new();

/// Runs a whole queue operation on a queue thread.
pub fn submit(job: impl FnOnce() + Send + 'static) {
    send(OPS.get_or_init(|| start("qmta-queue", threads())), Box::new(job));
}

/// Runs one step of a commit batch; the job must not wait for other jobs.
pub fn leaf(job: impl FnOnce() + Send + 'static) {
    send(LEAF.get_or_init(|| start("qmta-fsync", leaf_threads())), Box::new(job));
}

fn send(pool: &Pool, job: Job) {
    pool.jobs.lock().unwrap_or_else(|p| p.into_inner()).push_back(job);
    pool.ready.notify_one();
}

fn start(name: &'static str, threads: usize) -> Arc<Pool> {
    let pool = Arc::new(Pool { name, jobs: Mutex::default(), ready: Condvar::new() });
    (0..threads).for_each(|i| spawn_worker(i, pool.clone()));
    pool
}

fn spawn_worker(i: usize, pool: Arc<Pool>) {
    let _ = thread::Builder::new().name(format!("{}-{i}", pool.name)).stack_size(256 * 1024).spawn(move || work(i, pool));
}

/// Marks the calling thread SCHED_BATCH (best effort). A queue thread woken by the event
/// loop's thread then waits for that thread to block or for another core, instead of
/// preempting it on its own core: queue work is throughput, the event loop is latency.
pub fn batch_policy() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; param is a valid sched_param for SCHED_BATCH.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
}

fn work(i: usize, pool: Arc<Pool>) {
    batch_policy();
    struct Respawn(usize, Arc<Pool>);
    impl Drop for Respawn {
        fn drop(&mut self) {
            if thread::panicking() {
                spawn_worker(self.0, self.1.clone());
            }
        }
    }
    let guard = Respawn(i, pool);
    loop {
        let job = {
            let mut jobs = guard.1.jobs.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                match jobs.pop_front() {
                    Some(job) => break job,
                    None => jobs = guard.1.ready.wait(jobs).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        job();
    }
}

/// Runs `f` on every item on the group threads and returns the results (in completion
/// order); a single item runs on the calling thread. `f` must not wait for other jobs.
pub fn parallel<T, R>(items: Vec<T>, f: fn(T) -> R) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let count = items.len();
    if count == 1 {
        // One item: run it here rather than pay a hand-off to another thread.
        return items.into_iter().map(f).collect();
    }
    let (tx, rx) = channel();
    for item in items {
        let tx = tx.clone();
        let job = Box::new(move || {
            let _ = tx.send(f(item));
        });
        send(GROUPS.get_or_init(|| start("qmta-qdir", GROUP_THREADS)), job);
    }
    drop(tx);
    let out: Vec<R> = rx.iter().take(count).collect();
    out
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
    fn queue_threads_run_as_batch_threads() {
        let (tx, rx) = mpsc::channel();
        let t = tx.clone();
        // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
        submit(move || t.send(unsafe { libc::sched_getscheduler(0) }).unwrap());
        leaf(move || tx.send(unsafe { libc::sched_getscheduler(0) }).unwrap());
        assert_eq!([rx.recv().unwrap(), rx.recv().unwrap()], [libc::SCHED_BATCH; 2]);
        // SAFETY: as above, on the test's own thread, which is left as it was.
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
    }

    #[test]
    fn parallel_runs_every_item_once() {
        let mut got = parallel((0..100).collect(), |i: u32| i * 2);
        got.sort();
        assert_eq!(got, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_job_does_not_shrink_the_pool() {
        for _ in 0..threads() + 2 {
            submit(|| panic!("job failure (expected in this test)"));
        }
        let (tx, rx) = mpsc::channel();
        submit(move || tx.send(1).unwrap());
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok(1));
    }
}
