//! The commit protocol (qmail-queue's, plus directory fsyncs), run on one thread per
//! message; concurrent commits share their directory fsyncs (dirsync.rs).
//!
//!   1. fsync the body (mess/<b>/<id>, written by the writer)
//!   2. create intd/<b>/<id> O_EXCL, write the envelope, fsync it
//!   3. fsync mess/<b> (group): the body's directory entry is durable
//!   4. link intd/<b>/<id> -> todo/<b>/<id>           <- the commit point
//!   5. fsync todo/<b> (group): the commit is durable; only now is success returned
//!
//! intd/<b> is never fsync'd: after a crash only todo/ matters, and todo/<id> is a link
//! to the same (fsync'd) inode. Before step 4 a crash leaves garbage (mess, maybe intd)
//! that recovery removes once it is older than the garbage age; from step 4 on the
//! message is queued.
//!
//! Failures: any I/O error → temporary (errno table) after removing every file this
//! commit created, so nothing half-visible remains: a failed commit's message is gone.
//! (If the crash comes between a failed dir fsync and the cleanup, the message may
//! still be delivered: a duplicate, never a loss.)

use std::fs::{self, File};
use std::io::Write;
use std::sync::atomic::Ordering;

use status::{Failure, Result};

use crate::envelope::{encode_todo, Envelope};
use crate::id::bucket;
use crate::layout::Folder;
use crate::writer::{create_excl, remove_quiet};
use crate::{fault, Inner};

/// Runs steps 1–5 for message `n` whose body file is `body`; cleans up on failure.
pub(crate) fn commit_now(q: &Inner, n: u64, body: File, env: &Envelope) -> Result<()> {
    let r = steps(q, n, body, env);
    if r.is_err() {
        remove_todo(q, n);
        remove_body(q, n);
    }
    r
}

fn steps(q: &Inner, n: u64, body: File, env: &Envelope) -> Result<()> {
    let b = bucket(n);
    let io = |what: &'static str| move |e: std::io::Error| Failure::from_io(&e, what);
    fault::point("body_written");
    q.file_fsync(&body).map_err(io("syncing the message body"))?;
    drop(body);
    fault::point("body_synced");
    write_envelope(q, n, env)?;
    q.syncs.sync(Folder::Mess, b).map_err(io("syncing the queue's mess folder"))?;
    fault::point("before_link");
    fs::hard_link(q.layout.file(Folder::Intd, n), q.layout.file(Folder::Todo, n)).map_err(io("linking the envelope into todo"))?;
    fault::point("linked");
    q.syncs.sync(Folder::Todo, b).map_err(io("syncing the queue's todo folder"))?;
    fault::point("committed");
    q.commits.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn write_envelope(q: &Inner, n: u64, env: &Envelope) -> Result<()> {
    let bytes = encode_todo(env, current_uid(), std::process::id());
    let mut f = create_excl(&q.layout.file(Folder::Intd, n)).map_err(|e| Failure::from_io(&e, "creating the envelope"))?;
    fault::point("intd_created");
    f.write_all(&bytes).map_err(|e| Failure::from_io(&e, "writing the envelope"))?;
    fault::point("intd_written");
    q.file_fsync(&f).map_err(|e| Failure::from_io(&e, "syncing the envelope"))?;
    fault::point("intd_synced");
    Ok(())
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Removes todo/ and intd/ of `n` (a failed commit, or the end of preprocessing).
pub(crate) fn remove_todo(q: &Inner, n: u64) {
    remove_quiet(&q.layout.file(Folder::Todo, n));
    remove_quiet(&q.layout.file(Folder::Intd, n));
}

/// Removes the body of an uncommitted message.
pub(crate) fn remove_body(q: &Inner, n: u64) {
    remove_quiet(&q.layout.file(Folder::Mess, n));
}
