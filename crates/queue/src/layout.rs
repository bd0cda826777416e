//! The queue's folders and where a message's files live.
//!
//! Every state folder is split into `id::BUCKETS` subdirectories named 0..255 in decimal;
//! `quarantine/` is flat (it holds few entries, each a directory), and so is `spare/`
//! (spare.rs: files kept for reuse, which are in no state), and `lock/` holds qmail's
//! tcpto (remote delivery's downed-host memory, written by ts/remote). Which folder a file is
//! in is its state; its name is the message id and nothing else (STYLE.md).
//!
//! Failures: creating the layout fails temporary (errno table), e.g. a read-only or full
//! filesystem. Guarantee: when `ensure` returns, every folder exists and its entry in its
//! parent is durable (the parents were fsync'd after any mkdir).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use status::{Failure, Result};

use crate::id::{bucket, BUCKETS};

/// A state folder of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Folder {
    /// Message bodies; created first and removed last, so it reserves the id.
    Mess,
    /// Envelopes being written.
    Intd,
    /// Committed, not yet preprocessed (a hard link of intd/).
    Todo,
    /// Sender; mtime = birth time.
    Info,
    /// Local recipients with done marks; mtime = next attempt.
    Local,
    /// Remote recipients with done marks; mtime = next attempt.
    Remote,
    /// Failure paragraphs for the bounce.
    Bounce,
}

impl Folder {
    pub const ALL: [Folder; 7] =
        [Folder::Mess, Folder::Intd, Folder::Todo, Folder::Info, Folder::Local, Folder::Remote, Folder::Bounce];

    pub fn name(self) -> &'static str {
        match self {
            Folder::Mess => "mess",
            Folder::Intd => "intd",
            Folder::Todo => "todo",
            Folder::Info => "info",
            Folder::Local => "local",
            Folder::Remote => "remote",
            Folder::Bounce => "bounce",
        }
    }

    /// Position in `ALL`, for per-folder tables.
    pub fn index(self) -> usize {
        Folder::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// Paths inside one queue root.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout { root: root.to_path_buf() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/<folder>/<bucket>/<id>`.
    pub fn file(&self, f: Folder, id: u64) -> PathBuf {
        let mut p = self.bucket_dir(f, bucket(id));
        p.push(id.to_string());
        p
    }

    /// `root/<folder>/<bucket>`.
    pub fn bucket_dir(&self, f: Folder, b: u64) -> PathBuf {
        let mut p = self.folder(f);
        p.push(b.to_string());
        p
    }

    pub fn folder(&self, f: Folder) -> PathBuf {
        self.root.join(f.name())
    }

    pub fn quarantine(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    /// Flat folder of spare files (spare.rs).
    pub fn spare(&self) -> PathBuf {
        self.root.join("spare")
    }

    /// qmail's queue/lock: state the daemon keeps beside the queue (remote delivery's tcpto).
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Creates every missing folder and bucket, fsyncing each parent that gained an entry.
    pub fn ensure(&self) -> Result<()> {
        let wrap = |e: io::Error| Failure::from_io(&e, &format!("creating queue folders in {}", self.root.display()));
        let mut top_changed = mkdir(&self.root).map_err(wrap)?;
        for f in Folder::ALL {
            let dir = self.folder(f);
            top_changed |= mkdir(&dir).map_err(wrap)?;
            let mut changed = false;
            for b in 0..BUCKETS {
                changed |= mkdir(&self.bucket_dir(f, b)).map_err(wrap)?;
            }
            if changed {
                sync_dir(&dir).map_err(wrap)?;
            }
        }
        top_changed |= mkdir(&self.quarantine()).map_err(wrap)?;
        top_changed |= mkdir(&self.spare()).map_err(wrap)?;
        top_changed |= mkdir(&self.lock()).map_err(wrap)?;
        if top_changed {
            sync_dir(&self.root).map_err(wrap)?;
        }
        Ok(())
    }
}

/// mkdir that reports whether it created the directory.
fn mkdir(p: &Path) -> io::Result<bool> {
    match fs::create_dir(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && p.is_dir() => Ok(false),
        Err(e) => Err(e),
    }
}

/// fsync of a directory: makes its entries (creates, links, unlinks) durable.
pub fn sync_dir(p: &Path) -> io::Result<()> {
    fs::File::open(p)?.sync_all()
}

/// Unlinks a file; a missing file is not an error (every removal in the queue is idempotent).
pub fn unlink_quiet(p: &Path) -> io::Result<bool> {
    match fs::remove_file(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_in_their_bucket() {
        let l = Layout::new(Path::new("/q"));
        let id = 64 * 300 + 5;
        assert_eq!(l.file(Folder::Todo, id), PathBuf::from(format!("/q/todo/{}/{id}", 300 % 256)));
        assert_eq!(l.file(Folder::Mess, id).parent(), Some(l.bucket_dir(Folder::Mess, bucket(id)).as_path()));
    }

    #[test]
    fn ensure_makes_every_folder_with_qmail_s_lock() {
        let root = crate::tests::Dir::new();
        let l = Layout::new(&root.0);
        l.ensure().unwrap();
        for d in [l.folder(Folder::Todo), l.bucket_dir(Folder::Mess, 255), l.quarantine(), l.spare(), l.lock()] {
            assert!(d.is_dir(), "{}", d.display());
        }
    }

    #[test]
    fn folder_indexes_are_distinct() {
        let idx: std::collections::HashSet<usize> = Folder::ALL.iter().map(|f| f.index()).collect();
        assert_eq!(idx.len(), Folder::ALL.len());
    }
}
