//! The commit protocol (qmail-queue's, plus directory fsyncs) as a group commit.
//!
//! Each commit first runs, as a job on the leaf pool:
//!
//!   0. writes a body still in memory (under 64 KiB) to mess/<b>/<id> (O_EXCL);
//!   1. cuts the body to its length (it may be a reused spare: spare.rs);
//!   2. creates intd/<b>/<id> (O_EXCL or a spare) and writes the envelope;
//!
//! then runs three fsyncs at once, as three leaf jobs: the body, the envelope, and mess/<b>
//! (the body's entry; shared with the commits of the same bucket, dirsync.rs). The last of
//! the three to finish hands the commit to the todo stage, a thread that takes every
//! commit that has reached it (a batch) and, per todo/<b> its batch touched,
//!
//!   3. links intd/<b>/<id> -> todo/<b>/<id> for each message   <- the commit point
//!   4. fsyncs todo/<b> once, then resolves each of those messages with its id.
//!
//! While one todo/ fsync runs, the commits that arrive behind it form the next batch. A
//! commit so waits for two fsync latencies (its three fsyncs, then its todo/ fsync), k
//! concurrent adds cost 2k file fsyncs and a few directory fsyncs (consecutive ids share a
//! bucket), and a commit resolves only when its own body, envelope, link and directories
//! are durable.
//!
//! intd/<b> is never fsync'd: after a crash only todo/ matters, and todo/<id> is a link to
//! the same (fsync'd) inode. Before step 3 a crash leaves garbage (mess, maybe intd) that
//! recovery removes once it is older than the garbage age; from step 3 on the message is
//! queued.
//!
//! Failures: any I/O error → temporary (errno table) for the messages it touched, after
//! removing every file those commits created, so nothing half-visible remains. (If the
//! crash comes between a failed dir fsync and the cleanup, the message may still be
//! delivered: a duplicate, never a loss.)

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use status::{Failure, Result};

use crate::envelope::{encode_todo, Envelope};
use crate::id::bucket;
use crate::layout::Folder;
use crate::pool::{batch_policy, leaf, parallel};
use crate::writer::{create_body, remove_quiet};
use crate::{fault, Inner};

/// The body as the writer hands it over.
pub(crate) enum Ready {
    /// mess/<b>/<id> exists and holds the whole body.
    File(File),
    /// The whole body, not on disk yet.
    Bytes(Vec<u8>),
}

type Done = Box<dyn FnOnce(Result<u64>) + Send>;

/// One message on its way through the committer.
pub(crate) struct Commit {
    q: Arc<Inner>,
    n: u64,
    ready: Option<Ready>,
    envelope: Vec<u8>,
    /// Taken when the commit resolves; still here on drop means it never did (see Drop).
    done: Option<Done>,
    /// Files this commit created (and only those are removed on failure).
    owns_body: bool,
    owns_intd: bool,
    linked: bool,
}

impl Commit {
    pub(crate) fn new(q: Arc<Inner>, n: u64, ready: Ready, env: &Envelope, done: Done) -> Commit {
        let owns_body = matches!(ready, Ready::File(_));
        // SAFETY: getuid has no preconditions and cannot fail.
        let envelope = encode_todo(env, unsafe { libc::getuid() }, std::process::id());
        Commit { q, n, ready: Some(ready), envelope, done: Some(done), owns_body, owns_intd: false, linked: false }
    }

    fn path(&self, f: Folder) -> PathBuf {
        self.q.layout.file(f, self.n)
    }

    /// Removes what this commit created and reports the failure.
    fn fail(mut self, f: Failure) {
        self.cleanup();
        if let Some(done) = self.done.take() {
            done(Err(f));
        }
    }

    /// Reports success: the message is durable in todo/.
    fn succeed(mut self) {
        if let Some(done) = self.done.take() {
            done(Ok(self.n));
        }
    }

    fn cleanup(&self) {
        if self.linked {
            remove_quiet(&self.path(Folder::Todo));
        }
        if self.owns_intd {
            remove_quiet(&self.path(Folder::Intd));
        }
        if self.owns_body {
            remove_quiet(&self.path(Folder::Mess));
        }
    }
}

impl Drop for Commit {
    /// A commit dropped unresolved (a panic in a step) still answers, once, and leaves nothing.
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            self.cleanup();
            done(Err(Failure::temp("3.0", "queue commit abandoned by an internal error")));
        }
    }
}

/// The todo stage's input: commits whose body, envelope and body entry are durable.
static TODO_STAGE: OnceLock<Mutex<Sender<Commit>>> = OnceLock::new();

/// Hands a commit to the committer; its `done` runs on a queue thread.
pub(crate) fn submit(c: Commit) {
    let tx = TODO_STAGE.get_or_init(start).lock().unwrap_or_else(|p| p.into_inner()).clone();
    leaf(move || start_syncs(c, tx));
}

/// Commits and waits for the result (worker threads, tests; never from a leaf job).
pub(crate) fn commit_blocking(q: Arc<Inner>, n: u64, ready: Ready, env: &Envelope) -> Result<u64> {
    let (tx, rx) = channel();
    submit(Commit::new(q, n, ready, env, Box::new(move |r| drop(tx.send(r)))));
    rx.recv().unwrap_or_else(|_| Err(Failure::temp("3.0", "the queue committer dropped a commit")))
}

fn start() -> Mutex<Sender<Commit>> {
    let (todo_tx, todo_rx) = channel::<Commit>();
    let _ = std::thread::Builder::new().name("qmta-commit-todo".into()).spawn(move || {
        batch_policy();
        todo_stage(&todo_rx)
    });
    Mutex::new(todo_tx)
}

/// Every commit waiting at the todo stage, at least one (None once the channel is gone).
fn ready_batch(rx: &Receiver<Commit>) -> Option<Vec<Commit>> {
    let first = rx.recv().ok()?;
    Some(std::iter::once(first).chain(rx.try_iter()).collect())
}

fn todo_stage(rx: &Receiver<Commit>) {
    while let Some(batch) = ready_batch(rx) {
        for c in sync_groups(batch, Folder::Todo, link) {
            fault::point("committed");
            c.q.commits.fetch_add(1, Ordering::Relaxed);
            c.succeed();
        }
    }
}

/// Steps 0–2, then the three fsyncs on three leaf threads (this one and two more).
fn start_syncs(mut c: Commit, next: Sender<Commit>) {
    let (body, intd) = match write_files(&mut c) {
        Ok(files) => files,
        Err(f) => return c.fail(f),
    };
    let (q, b) = (c.q.clone(), bucket(c.n));
    let join = Arc::new(Join::new(c, next));
    let (j, qi) = (join.clone(), q.clone());
    leaf(move || j.part(file_sync(&qi, &intd, "syncing the envelope", "intd_synced")));
    let (j, qm) = (join.clone(), q.clone());
    leaf(move || j.part(qm.syncs.sync(Folder::Mess, b).map_err(|e| Failure::from_io(&e, "syncing the queue's mess folder"))));
    join.part(file_sync(&q, &body, "syncing the message body", "body_synced"));
}

fn file_sync(q: &Inner, f: &File, what: &str, point: &str) -> Result<()> {
    q.file_fsync(f).map_err(|e| Failure::from_io(&e, what))?;
    fault::point(point);
    Ok(())
}

/// Steps 0–2 for one message: the body and the envelope, written, not yet fsync'd.
fn write_files(c: &mut Commit) -> Result<(File, File)> {
    let io = |what: &'static str| move |e: std::io::Error| Failure::from_io(&e, what);
    let mut body = match c.ready.take() {
        Some(Ready::File(f)) => f,
        Some(Ready::Bytes(bytes)) => {
            let mut f = create_body(&c.q, &mut c.n).map_err(io("creating the message body in the queue"))?;
            c.owns_body = true;
            f.write_all(&bytes).map_err(io("writing the message body"))?;
            f
        }
        None => return Err(Failure::temp("3.0", "message body handed over twice")),
    };
    cut_here(&mut body).map_err(io("writing the message body"))?;
    fault::point("body_written");
    let mut f = c.q.syncs.spares.create(&c.path(Folder::Intd)).map_err(io("creating the envelope"))?;
    c.owns_intd = true;
    fault::point("intd_created");
    f.write_all(&c.envelope).and_then(|()| cut_here(&mut f)).map_err(io("writing the envelope"))?;
    fault::point("intd_written");
    Ok((body, f))
}

/// The three fsyncs of one commit: the last to finish passes it on, or fails it with the
/// first failure. Dropped unfinished (a job panicked), it drops the commit, which answers.
struct Join {
    state: Mutex<Parts>,
    next: Sender<Commit>,
}

struct Parts {
    pending: usize,
    failure: Option<Failure>,
    commit: Option<Commit>,
}

impl Join {
    fn new(c: Commit, next: Sender<Commit>) -> Join {
        Join { state: Mutex::new(Parts { pending: 3, failure: None, commit: Some(c) }), next }
    }

    fn part(&self, r: Result<()>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(f) = r {
            s.failure.get_or_insert(f);
        }
        s.pending -= 1;
        if s.pending > 0 {
            return;
        }
        let (failure, commit) = (s.failure.take(), s.commit.take());
        drop(s);
        let Some(c) = commit else { return };
        match failure {
            Some(f) => c.fail(f),
            None => {
                if let Err(back) = self.next.send(c) {
                    back.0.fail(Failure::temp("3.0", "the queue committer is gone"));
                }
            }
        }
    }
}

/// Cuts a file written from its start at the current offset (a spare holds older bytes).
pub(crate) fn cut_here(f: &mut File) -> std::io::Result<()> {
    let len = f.stream_position()?;
    f.set_len(len)
}

/// Step 3 for one message of a todo group: the commit point.
fn link(c: &mut Commit) -> Result<()> {
    fault::point("before_link");
    fs::hard_link(c.path(Folder::Intd), c.path(Folder::Todo)).map_err(|e| Failure::from_io(&e, "linking the envelope into todo"))?;
    c.linked = true;
    fault::point("linked");
    Ok(())
}

/// Groups the batch by (queue, bucket of `folder`); in parallel per group, runs `each` on
/// every commit, then one fsync of the group's directory. Returns the commits that made it.
fn sync_groups<E>(batch: Vec<Commit>, folder: Folder, each: E) -> Vec<Commit>
where
    E: Fn(&mut Commit) -> Result<()> + Copy + Send + 'static,
{
    let mut groups: HashMap<(usize, u64), Vec<Commit>> = HashMap::new();
    for c in batch {
        groups.entry((Arc::as_ptr(&c.q) as usize, bucket(c.n))).or_default().push(c);
    }
    // Usually one group (consecutive ids share a bucket): `parallel` then runs it right here.
    let jobs: Vec<(Folder, Vec<Commit>, E)> = groups.into_values().map(|g| (folder, g, each)).collect();
    parallel(jobs, sync_group::<E>).into_iter().flatten().collect()
}

fn sync_group<E: Fn(&mut Commit) -> Result<()>>((folder, group, each): (Folder, Vec<Commit>, E)) -> Vec<Commit> {
    let mut kept = Vec::with_capacity(group.len());
    for mut c in group {
        match each(&mut c) {
            Ok(()) => kept.push(c),
            Err(f) => c.fail(f),
        }
    }
    let Some(first) = kept.first() else { return kept };
    match first.q.syncs.sync(folder, bucket(first.n)) {
        Ok(()) => kept,
        Err(e) => {
            let f = Failure::from_io(&e, &format!("syncing the queue's {} folder", folder.name()));
            kept.into_iter().for_each(|c| c.fail(f.clone()));
            Vec::new()
        }
    }
}

/// Removes the body of an uncommitted message.
pub(crate) fn remove_body(q: &Inner, n: u64) {
    remove_quiet(&q.layout.file(Folder::Mess, n));
}
