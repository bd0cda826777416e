//! Reading the queue: listings, todo envelopes, info, stats; and the bounded file read
//! every metadata read goes through.
//!
//! Failures: a missing or unreadable file → temporary (errno table, ENOENT 4.2.1). A file
//! that does not decode (truncated envelope, unknown record, missing body, over
//! MAX_META_FILE bytes) → the message is moved to quarantine/ and the call fails
//! temporary 4.3.0 "queue entry damaged, moved to quarantine: <reason>"; it never panics
//! and never blocks other messages.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;

use status::{Failure, Result};

use crate::envelope::{decode_todo, Damage, Envelope, MAX_META_FILE};
use crate::id::{self, BUCKETS};
use crate::layout::Folder;
use crate::records::decode_info;
use crate::Queue;

/// A committed, not yet preprocessed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TodoEntry {
    pub envelope: Envelope,
    /// Commit time (mtime of the todo file); preprocess keeps it as the birth time.
    pub birth: SystemTime,
    /// Who queued it: qmail's `u` and `p` records.
    pub uid: u32,
    pub pid: u32,
}

/// A preprocessed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    pub sender: Vec<u8>,
    /// Birth time (mtime of info/): the base of the retry schedule.
    pub birth: SystemTime,
    /// Body size in bytes.
    pub size: u64,
}

/// qmail-qstat's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub messages: u64,
    pub todo: u64,
}

/// Reads a queue metadata file, refusing one larger than MAX_META_FILE.
pub(crate) fn read_meta(p: &Path) -> io::Result<std::result::Result<Vec<u8>, Damage>> {
    let f = File::open(p)?;
    let len = f.metadata()?.len();
    if len > MAX_META_FILE {
        return Ok(Err(Damage(format!("{} is {len} bytes, over the {MAX_META_FILE}-byte limit", p.display()))));
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(MAX_META_FILE + 1).read_to_end(&mut buf)?;
    Ok(Ok(buf))
}

/// Ids present in every bucket of a folder (names that are not ids are skipped).
pub(crate) fn list(q: &Queue, f: Folder) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for b in 0..BUCKETS {
        let dir = q.inner.layout.bucket_dir(f, b);
        let entries = fs::read_dir(&dir).map_err(|e| Failure::from_io(&e, &format!("listing {}", dir.display())))?;
        for e in entries.flatten() {
            if let Some(n) = e.file_name().to_str().and_then(id::parse) {
                ids.push(n);
            }
        }
    }
    Ok(ids)
}

impl Queue {
    /// Committed messages not yet preprocessed (todo/), less this process's unsettled ones.
    pub fn list_todo(&self) -> Result<Vec<u64>> {
        let mut ids = list(self, Folder::Todo)?;
        let unsettled = self.unsettled();
        ids.retain(|n| !unsettled.contains_key(n));
        Ok(ids)
    }

    /// Preprocessed messages: info/ and this process's unsettled ones (preprocess.rs).
    pub fn list_queued(&self) -> Result<Vec<u64>> {
        let mut ids = list(self, Folder::Info)?;
        let unsettled = self.unsettled();
        ids.retain(|n| !unsettled.contains_key(n));
        ids.extend(unsettled.keys());
        Ok(ids)
    }

    /// The envelope of a todo/ entry; a damaged entry is quarantined (see the header).
    pub fn read_todo(&self, n: u64) -> Result<TodoEntry> {
        let path = self.inner.layout.file(Folder::Todo, n);
        let io = |e: io::Error| Failure::from_io(&e, &format!("reading todo {n}"));
        let birth = fs::metadata(&path).and_then(|m| m.modified()).map_err(io)?;
        let decoded = read_meta(&path).map_err(io)?.and_then(|b| decode_todo(&b));
        let todo = decoded.and_then(|t| self.body_present(n).map(|()| t));
        match todo {
            Ok(t) => Ok(TodoEntry { envelope: t.envelope, birth, uid: t.uid, pid: t.pid }),
            Err(d) => Err(self.quarantine_damaged(n, &d)),
        }
    }

    /// Sender, birth and size of a preprocessed message (an unsettled one's from memory,
    /// preprocess.rs); a damaged entry is quarantined.
    pub fn info(&self, n: u64) -> Result<MessageInfo> {
        let io = |e: io::Error| Failure::from_io(&e, &format!("reading info {n}"));
        let known = self.unsettled().get(&n).map(|u| (u.sender.clone(), u.birth));
        let (sender, birth) = match known {
            Some(k) => k,
            None => self.read_info(n)?,
        };
        match fs::metadata(self.body_path(n)) {
            Ok(m) => Ok(MessageInfo { sender, birth, size: m.len() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(self.quarantine_damaged(n, &missing_body())),
            Err(e) => Err(io(e)),
        }
    }

    /// Sender and birth from info/ (a damaged file is quarantined).
    fn read_info(&self, n: u64) -> Result<(Vec<u8>, SystemTime)> {
        let path = self.inner.layout.file(Folder::Info, n);
        let io = |e: io::Error| Failure::from_io(&e, &format!("reading info {n}"));
        let birth = fs::metadata(&path).and_then(|m| m.modified()).map_err(io)?;
        match read_meta(&path).map_err(io)?.and_then(|b| decode_info(&b)) {
            Ok(s) => Ok((s, birth)),
            Err(d) => Err(self.quarantine_damaged(n, &d)),
        }
    }

    pub(crate) fn body_present(&self, n: u64) -> std::result::Result<(), Damage> {
        match fs::symlink_metadata(self.body_path(n)) {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err(Damage("the body is not a regular file".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing_body()),
            // Unreadable is not damage: the next look may succeed.
            Err(_) => Ok(()),
        }
    }

    /// qmail-qstat's two counts: bodies in mess/, entries in todo/.
    pub fn stats(&self) -> Result<Stats> {
        let messages = list(self, Folder::Mess)?.len() as u64;
        let todo = list(self, Folder::Todo)?.len() as u64;
        Ok(Stats { messages, todo })
    }
}

pub(crate) fn missing_body() -> Damage {
    Damage("missing body".into())
}
