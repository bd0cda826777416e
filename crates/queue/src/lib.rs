//! qmta's durable queue: qmail's straight paper path (reference/qmail.md §2), every
//! folder split into hashed subfolders, with group commit. README.md has the state table
//! and the commit protocol.
//!
//! Interface: `Queue::open(root, Options)`, then
//! - add: `create_writer` → `Writer::write`… → `Writer::commit[_async]` → id
//! - scheduler: `list_todo`, `read_todo`, `preprocess`, `settle`, `list_queued`, `info`,
//!   `recipients`, `mark_done`, `append_bounce`, `read_bounce`, `set_next_attempt`,
//!   `next_attempt`, `remove`, `body_path`
//! - upkeep: `recover` (start-up: garbage and damage), `quarantine`, `stats`
//! - `spawn` runs any of these on the queue threads and hands the result to a callback.
//!
//! Failures are `status::Failure` values: envelope limits are permanent (envelope.rs has
//! the table), every I/O error is temporary through the errno table, and a damaged entry
//! is moved to quarantine/ and reported, never a panic.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use status::{Failure, Result};

mod channel;
mod commit;
mod dirsync;
pub mod envelope;
mod fault;
mod id;
mod layout;
mod pool;
mod preprocess;
mod quarantine;
pub mod rawloop;
mod read;
mod recover;
mod records;
mod remove;
mod spare;
mod writer;

pub use channel::{Channel, Recipient};
pub use envelope::{Envelope, DEFAULT_MAX_RECIPIENTS, MAX_ADDRESS, MAX_RECIPIENTS_CEILING};
pub use id::BUCKETS;
pub use read::{MessageInfo, Stats, TodoEntry};
pub use pool::batch_policy;
pub use recover::{Recovery, GARBAGE_AGE};
pub use writer::Writer;

/// Settings of an open queue.
#[derive(Clone, Debug)]
pub struct Options {
    /// Recipients allowed per message (1..=MAX_RECIPIENTS_CEILING).
    pub max_recipients: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_recipients: DEFAULT_MAX_RECIPIENTS }
    }
}

/// Shared state of one open queue.
pub(crate) struct Inner {
    layout: layout::Layout,
    syncs: Arc<dirsync::DirSyncs>,
    max_recipients: usize,
    file_fsyncs: AtomicU64,
    commits: AtomicU64,
    /// Messages this process preprocessed and has not settled yet (preprocess.rs).
    unsettled: Mutex<HashMap<u64, preprocess::Unsettled>>,
    /// One settle at a time per message (by id, striped): preprocess.rs.
    settling: [Mutex<()>; preprocess::SETTLE_STRIPES],
}

impl Inner {
    /// fsync of a file, counted.
    fn file_fsync(&self, f: &File) -> io::Result<()> {
        self.file_fsyncs.fetch_add(1, Ordering::Relaxed);
        f.sync_all()
    }
}

/// Work counters, for tests and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Commits through this `Queue` (and its clones).
    pub commits: u64,
    /// File fsyncs through this `Queue`.
    pub file_fsyncs: u64,
    /// Directory fsyncs on this root, by every `Queue` of the process (they share them).
    pub dir_fsyncs: u64,
}

/// An open queue; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

/// Runs other blocking core work (a maildir delivery) on the queue's operations threads,
/// so that it holds no libuv thread either (pool.rs); `op` must not wait for queue jobs.
pub fn spawn_blocking(op: impl FnOnce() + Send + 'static) {
    pool::submit(op);
}

/// Runs a job that blocks on the disk but never waits for a queued job (file writes and
/// fsyncs; a directory group sync may wait for one already running) on the leaf threads,
/// which are as wide as the disk is useful (pool.rs).
pub fn spawn_leaf(op: impl FnOnce() + Send + 'static) {
    pool::leaf(op);
}

/// A fresh message id for a message that is delivered without entering the queue
/// (crates/accept): the same number space, so logs name every message alike.
pub fn fresh_id() -> u64 {
    id::next()
}

/// Parses a message id given as text (anything else than an id is refused: 5.3.0).
pub fn parse_id(s: &str) -> Result<u64> {
    id::parse(s).ok_or_else(|| Failure::perm("3.0", format!("not a queue message id: {s:?}")))
}

impl Queue {
    /// Opens (creating when missing) the queue at `root`.
    pub fn open(root: &Path, opts: Options) -> Result<Queue> {
        if opts.max_recipients == 0 || opts.max_recipients > MAX_RECIPIENTS_CEILING {
            let m = opts.max_recipients;
            return Err(Failure::perm("3.5", format!("maxRecipients {m} is outside 1..{MAX_RECIPIENTS_CEILING}")));
        }
        let layout = layout::Layout::new(root);
        layout.ensure()?;
        let syncs = dirsync::DirSyncs::for_root(&layout);
        let inner = Inner { layout, syncs, max_recipients: opts.max_recipients, file_fsyncs: AtomicU64::new(0), commits: AtomicU64::new(0), unsettled: Mutex::default(), settling: Default::default() };
        Ok(Queue { inner: Arc::new(inner) })
    }

    pub fn root(&self) -> &Path {
        self.inner.layout.root()
    }

    /// Starts a new message (creates its body file).
    pub fn create_writer(&self) -> Result<Writer> {
        Writer::create(self.inner.clone())
    }

    /// Runs `op` on a queue thread and passes its result to `done` (on that thread).
    pub fn spawn<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Queue) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        let q = self.clone();
        pool::submit(move || done(op(&q)));
    }

    /// Absolute path of a message's body.
    pub fn body_path(&self, id: u64) -> PathBuf {
        self.inner.layout.file(layout::Folder::Mess, id)
    }

    pub fn counters(&self) -> Counters {
        let i = &self.inner;
        Counters {
            commits: i.commits.load(Ordering::Relaxed),
            file_fsyncs: i.file_fsyncs.load(Ordering::Relaxed),
            dir_fsyncs: i.syncs.count(),
        }
    }
}


#[cfg(test)]
mod tests;
