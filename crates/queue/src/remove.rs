//! Finishing a message (qmail §2.6) and its bounce paragraphs (§7.2).
//!
//! `remove`: unlink todo, intd, local, remote, bounce, then info; fsync the todo and info
//! subdirectories when an entry left them (group); only then unlink mess, which frees the
//! id. "Unlink" is a move to spare/ for every file but todo (spare.rs), the same for
//! every state: the name is gone. A crash part-way leaves either a message that is still whole enough to finish
//! again (info or todo present) or a lone body that recovery removes as garbage: never
//! info or todo without its body. local/remote/bounce unlinks are not fsync'd: one that
//! is lost leaves a file with no body, todo or info, garbage for recovery (and a
//! preprocessing of a later message with the same id removes it first).
//!
//! `append_bounce`: settles the message (preprocess.rs), then appends the caller's paragraph (already in qmail's form: `<addr>:`,
//! the report, an empty line) to bounce/<id> and fsyncs it; unlike qmail, the bounce
//! file is crash-proof. `read_bounce` returns the paragraphs, bounded by MAX_META_FILE.
//!
//! Failures: I/O → temporary (errno table); removing a message that is already gone
//! succeeds (idempotent); an oversized bounce file → quarantined, temporary 4.3.0.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

use status::{Failure, Result};

use crate::id::bucket;
use crate::layout::{unlink_quiet, Folder};
use crate::read::read_meta;
use crate::spare::Parked;
use crate::{fault, Queue};

const BEFORE_BODY: [Folder; 6] = [Folder::Todo, Folder::Intd, Folder::Local, Folder::Remote, Folder::Bounce, Folder::Info];

impl Queue {
    /// Removes every file of message `n`, the body last.
    pub fn remove(&self, n: u64) -> Result<()> {
        let io = |e: io::Error| Failure::from_io(&e, &format!("removing message {n}"));
        let b = bucket(n);
        let spares = &self.inner.syncs.spares;
        for f in BEFORE_BODY {
            let path = self.inner.layout.file(f, n);
            let parked = if f == Folder::Todo {
                Parked::unlinked(unlink_quiet(&path).map_err(io)?)
            } else {
                spares.park(&path).map_err(io)?
            };
            // An entry left a folder whose fsync guards the body (todo, info).
            if parked.existed && matches!(f, Folder::Todo | Folder::Info) {
                self.inner.syncs.sync(f, b).map_err(io)?;
            }
            // Reused only once its old name is durably gone (a parked info file's name
            // coming back after a crash would be read as the message's).
            spares.offer(parked);
        }
        fault::point("before_body_unlink");
        spares.recycle(&self.body_path(n)).map_err(io)?;
        self.unsettled().remove(&n);
        Ok(())
    }

    /// Appends a failure paragraph to bounce/<n>, fsync'd.
    pub fn append_bounce(&self, n: u64, paragraph: &[u8]) -> Result<()> {
        self.settle(n)?;
        let path = self.inner.layout.file(Folder::Bounce, n);
        let r = (|| -> io::Result<()> {
            let created = !path.exists();
            let mut f = OpenOptions::new().append(true).create(true).mode(0o640).open(&path)?;
            f.write_all(paragraph)?;
            self.inner.file_fsync(&f)?;
            if created {
                self.inner.syncs.sync(Folder::Bounce, bucket(n))?;
            }
            Ok(())
        })();
        r.map_err(|e| Failure::from_io(&e, &format!("appending to bounce/{n}")))
    }

    /// The accumulated failure paragraphs, or None when there are none.
    pub fn read_bounce(&self, n: u64) -> Result<Option<Vec<u8>>> {
        if self.is_unsettled(n) {
            return Ok(None); // appending a paragraph settles first
        }
        match read_meta(&self.inner.layout.file(Folder::Bounce, n)) {
            Ok(Ok(bytes)) => Ok(Some(bytes)),
            Ok(Err(d)) => Err(self.quarantine_damaged(n, &d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::from_io(&e, &format!("reading bounce/{n}"))),
        }
    }
}
