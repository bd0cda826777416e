//! Adding a message: the body streamed into mess/, then the commit (commit.rs).
//!
//! Interface: `Queue::create_writer` → `write`/`append_file` as bytes arrive → `commit`
//! (blocking, for worker threads) or `commit_async` (runs on the queue threads) → the id.
//! `abort`, or dropping an uncommitted writer, removes the body.
//!
//! The body goes straight to its final place, mess/<bucket>/<id>, created with O_EXCL
//! (that create reserves the id, qmail's S2 state). The file is created lazily: the first
//! 64 KiB stay in memory, so a typical message is created, written and fsync'd entirely on
//! a queue thread at commit and its writer does no disk I/O on the caller's thread (the
//! Node main thread). Past 64 KiB the file is created and bytes go through a 64 KiB
//! buffer to the page cache: nothing more is held in memory, so a body larger than memory
//! queues fine. Durability comes at commit.
//!
//! The id is tentative until the body file exists: if another process took it meanwhile,
//! the create draws a new one. The id returned by commit is the message's id.
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

use crate::commit::{commit_blocking, remove_body, submit, Commit, Ready};
use crate::envelope::{check, Envelope};
use crate::layout::Folder;
use crate::{fault, id, Inner};

const BUFFER: usize = 64 * 1024;
/// Tries at finding a free id before giving up (each try draws a new random start).
const ID_TRIES: usize = 8;

enum Body {
    /// Not on disk yet: the bytes so far, at most BUFFER.
    Pending(Vec<u8>),
    /// mess/<b>/<id> exists; writes go through the buffer.
    File(BufWriter<File>),
    /// Committed, aborted or failed.
    Gone,
}

/// A message being written. Not shared between threads; move it to commit.
pub struct Writer {
    q: Arc<Inner>,
    id: u64,
    body: Body,
    size: u64,
    failed: Option<Failure>,
}

impl Writer {
    pub(crate) fn create(q: Arc<Inner>) -> Result<Writer> {
        Ok(Writer { q, id: id::next(), body: Body::Pending(Vec::new()), size: 0, failed: None })
    }

    /// The message id: tentative until the body file exists (see the header).
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
        if let Body::Pending(buf) = &mut self.body {
            if buf.len() + chunk.len() <= BUFFER {
                buf.extend_from_slice(chunk);
                self.size += chunk.len() as u64;
                return Ok(());
            }
        }
        let r = self.file().and_then(|b| b.write_all(chunk));
        self.check(r.map(|()| chunk.len() as u64), "writing the message body")
    }

    /// Appends a whole file (copied inside the kernel where it can be: copy_file_range).
    pub fn append_file(&mut self, path: &Path) -> Result<()> {
        self.usable()?;
        let mut src = File::open(path).map_err(|e| Failure::from_io(&e, &format!("opening {}", path.display())))?;
        let r = self.file().and_then(|b| b.flush().and_then(|()| io::copy(&mut src, b.get_mut())));
        self.check(r, "copying the message body")
    }

    /// Appends everything `src` yields (a spooled message read at its own offsets).
    pub fn append_reader(&mut self, src: &mut dyn io::Read) -> Result<()> {
        self.usable()?;
        let r = self.file().and_then(|b| io::copy(src, b));
        self.check(r, "copying the message body")
    }

    /// The body file, created (with the pending bytes) if it does not exist yet.
    fn file(&mut self) -> io::Result<&mut BufWriter<File>> {
        if let Body::Pending(buf) = &mut self.body {
            let pending = std::mem::take(buf);
            self.body = Body::File(BufWriter::with_capacity(BUFFER, create_body(&self.q, &mut self.id)?));
            if let Body::File(b) = &mut self.body {
                b.write_all(&pending)?;
            }
        }
        match &mut self.body {
            Body::File(b) => Ok(b),
            _ => Err(io::Error::other("message writer already used")),
        }
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

    /// Commits, blocking this thread until durable (worker threads, tests). The work
    /// itself joins the next group-commit batch (commit.rs).
    pub fn commit(mut self, env: &Envelope) -> Result<u64> {
        let (q, n, ready) = self.prepare(env)?;
        commit_blocking(q, n, ready, env)
    }

    /// Commits in the next group-commit batch; `done` gets the id once durable, or the
    /// failure (on a queue thread).
    pub fn commit_async(mut self, env: Envelope, done: impl FnOnce(Result<u64>) + Send + 'static) {
        match self.prepare(&env) {
            Ok((q, n, ready)) => submit(Commit::new(q, n, ready, &env, Box::new(done))),
            Err(f) => done(Err(f)),
        }
    }

    /// Checks the envelope and hands over the body; on failure the body is gone.
    fn prepare(&mut self, env: &Envelope) -> Result<(Arc<Inner>, u64, Ready)> {
        self.usable()?;
        if let Err(f) = check(env, self.q.max_recipients) {
            self.discard();
            return Err(f);
        }
        match std::mem::replace(&mut self.body, Body::Gone) {
            Body::Pending(bytes) => Ok((self.q.clone(), self.id, Ready::Bytes(bytes))),
            Body::File(b) => match b.into_inner() {
                Ok(file) => Ok((self.q.clone(), self.id, Ready::File(file))),
                Err(e) => {
                    remove_body(&self.q, self.id);
                    Err(Failure::from_io(e.error(), "writing the message body"))
                }
            },
            Body::Gone => Err(Failure::temp("3.0", "message writer already used")),
        }
    }

    /// Throws the message away.
    pub fn abort(mut self) {
        self.discard();
    }

    fn discard(&mut self) {
        if let Body::File(b) = std::mem::replace(&mut self.body, Body::Gone) {
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

/// Creates mess/<b>/<id> (O_EXCL, or a spare renamed without replacing); when the id is
/// taken, draws new ones (updating `id`). The committer cuts it to its length.
pub(crate) fn create_body(q: &Inner, id: &mut u64) -> io::Result<File> {
    let mut last = None;
    for _ in 0..ID_TRIES {
        match q.syncs.spares.create(&q.layout.file(Folder::Mess, *id)) {
            Ok(f) => {
                fault::point("body_created");
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                id::reseed();
                *id = id::next();
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free queue id")))
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
