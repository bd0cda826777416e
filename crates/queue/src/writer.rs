//! Adding a message: the body streamed into mess/, then the commit (commit.rs).
//!
//! Interface: `Queue::create_writer` → `write`/`append_file` as bytes arrive → `commit`
//! (blocking, for worker threads) or `commit_async` (runs on the queue threads) → the id.
//! `abort`, or dropping an uncommitted writer, removes the body.
//!
//! The body goes straight to its final place, mess/<bucket>/<id>, created with O_EXCL
//! (that create reserves the id, qmail's S2 state). Writes go through a 64 KiB buffer to
//! the page cache; nothing is held in memory beyond that buffer, so a body larger than
//! memory queues fine. Durability comes at commit.
//!
//! Failures: creating or writing the body → temporary (errno table: ENOSPC 4.3.1, EROFS
//! and EACCES 4.3.0, ...). After a failed write the body is removed at once (a full disk
//! gets its space back) and every later call returns the same failure.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use status::{Failure, Result};

use crate::commit::{commit_now, remove_body};
use crate::envelope::{check, Envelope};
use crate::layout::Folder;
use crate::{fault, id, Inner};

const BUFFER: usize = 64 * 1024;
/// Tries at finding a free id before giving up (each try draws a new random start).
const ID_TRIES: usize = 8;

/// A message being written. Not shared between threads; move it to commit.
pub struct Writer {
    q: Arc<Inner>,
    id: u64,
    body: Option<BufWriter<File>>,
    size: u64,
    failed: Option<Failure>,
}

impl Writer {
    pub(crate) fn create(q: Arc<Inner>) -> Result<Writer> {
        let mut last = None;
        for _ in 0..ID_TRIES {
            let n = id::next();
            match create_excl(&q.layout.file(Folder::Mess, n)) {
                Ok(f) => {
                    fault::point("body_created");
                    return Ok(Writer { q, id: n, body: Some(BufWriter::with_capacity(BUFFER, f)), size: 0, failed: None });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    id::reseed();
                    last = Some(e);
                }
                Err(e) => return Err(Failure::from_io(&e, "creating the message body in the queue")),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::other("no free id"));
        Err(Failure::from_io(&e, "finding a free queue id"))
    }

    /// The message id (valid for the queue once committed).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Body bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends body bytes.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.usable()?;
        let r = self.body.as_mut().map_or(Ok(()), |b| b.write_all(chunk));
        self.check(r.map(|()| chunk.len() as u64), "writing the message body")
    }

    /// Appends a whole file (copied inside the kernel where it can be: copy_file_range).
    pub fn append_file(&mut self, path: &Path) -> Result<()> {
        self.usable()?;
        let mut src = File::open(path).map_err(|e| Failure::from_io(&e, &format!("opening {}", path.display())))?;
        let r = match self.body.as_mut() {
            Some(b) => b.flush().and_then(|()| io::copy(&mut src, b.get_mut())),
            None => Ok(0),
        };
        self.check(r, "copying the message body")
    }

    fn usable(&self) -> Result<()> {
        match &self.failed {
            Some(f) => Err(f.clone()),
            None => Ok(()),
        }
    }

    fn check(&mut self, r: io::Result<u64>, what: &str) -> Result<()> {
        match r {
            Ok(n) => {
                self.size += n;
                Ok(())
            }
            Err(e) => {
                let f = Failure::from_io(&e, what);
                self.discard();
                self.failed = Some(f.clone());
                Err(f)
            }
        }
    }

    /// Commits on this thread, blocking until durable (worker threads, tests).
    pub fn commit(mut self, env: &Envelope) -> Result<u64> {
        let (q, n, body) = self.prepare(env)?;
        commit_now(&q, n, body, env).map(|()| n)
    }

    /// Commits on the queue threads; `done` gets the id once durable, or the failure.
    pub fn commit_async(mut self, env: Envelope, done: impl FnOnce(Result<u64>) + Send + 'static) {
        match self.prepare(&env) {
            Ok((q, n, body)) => crate::pool::submit(move || done(commit_now(&q, n, body, &env).map(|()| n))),
            Err(f) => done(Err(f)),
        }
    }

    /// Checks the envelope and flushes the buffer; on failure the body is gone.
    fn prepare(&mut self, env: &Envelope) -> Result<(Arc<Inner>, u64, File)> {
        self.usable()?;
        if let Err(f) = check(env, self.q.max_recipients) {
            self.discard();
            return Err(f);
        }
        let buffered = self.body.take().map(|b| b.into_inner().map_err(|e| e.into_error()));
        match buffered {
            Some(Ok(file)) => Ok((self.q.clone(), self.id, file)),
            Some(Err(e)) => {
                remove_body(&self.q, self.id);
                Err(Failure::from_io(&e, "writing the message body"))
            }
            None => Err(Failure::temp("3.0", "message writer already used")),
        }
    }

    /// Throws the message away.
    pub fn abort(mut self) {
        self.discard();
    }

    fn discard(&mut self) {
        if let Some(b) = self.body.take() {
            drop(b.into_parts());
            remove_body(&self.q, self.id);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.discard();
    }
}

impl crate::Queue {
    /// Queues `prefix` followed by the file at `path` (blocking: run it on a queue thread).
    pub fn add_file(&self, prefix: &[u8], path: &Path, env: &Envelope) -> Result<u64> {
        let mut w = self.create_writer()?;
        w.write(prefix)?;
        w.append_file(path)?;
        w.commit(env)
    }
}

/// Creates a new file that must not exist, mode 0640 (qmail: mess 0644 less others).
pub(crate) fn create_excl(p: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o640).open(p)
}

/// Removes a file that may be missing.
pub(crate) fn remove_quiet(p: &Path) {
    let _ = fs::remove_file(p);
}
