//! Channel lists: recipients with done marks, per-recipient checkpoints, next attempt.
//!
//! Both settle the message first (preprocess.rs).
//! `mark_done` overwrites one record's `T` with `D` in place (qmail §2.5) and, unlike
//! qmail, fsyncs it: a crash after a delivery and its mark never repeats the delivery.
//! The write would move the file's mtime, which holds the next attempt time, so the old
//! mtime is put back before the fsync.
//!
//! Failures: a missing channel list reads as no recipients; a damaged one (truncated,
//! unknown record) → quarantined, temporary 4.3.0; an index that is not a recipient of
//! the list → temporary 4.3.0 (a caller bug: nothing is written); a bad channel name →
//! permanent 5.3.0; I/O → temporary (errno table).

use std::fs::{self, FileTimes, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::time::SystemTime;

use status::{Failure, Result};

use crate::layout::Folder;
use crate::read::read_meta;
use crate::records::{decode_channel, Entry};
use crate::Queue;

/// A delivery channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Local,
    Remote,
}

impl Channel {
    /// "local" or "remote".
    pub fn parse(s: &str) -> Result<Channel> {
        match s {
            "local" => Ok(Channel::Local),
            "remote" => Ok(Channel::Remote),
            _ => Err(Failure::perm("3.0", format!("not a queue channel: {s:?}"))),
        }
    }

    fn folder(self) -> Folder {
        match self {
            Channel::Local => Folder::Local,
            Channel::Remote => Folder::Remote,
        }
    }
}

/// One recipient of a channel list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// Position in the list: what `mark_done` takes.
    pub index: usize,
    pub address: Vec<u8>,
    pub done: bool,
}

impl Queue {
    /// The channel's recipients with their done marks; empty when the channel has none.
    pub fn recipients(&self, n: u64, ch: Channel) -> Result<Vec<Recipient>> {
        let entries = self.entries(n, ch)?;
        Ok(entries.into_iter().enumerate().map(|(index, e)| Recipient { index, address: e.address, done: e.done }).collect())
    }

    fn entries(&self, n: u64, ch: Channel) -> Result<Vec<Entry>> {
        if let Some(u) = self.unsettled().get(&n) {
            let list = if ch == Channel::Local { &u.local } else { &u.remote };
            return Ok(list.iter().map(|a| Entry { offset: 0, address: a.clone(), done: false }).collect());
        }
        let path = self.inner.layout.file(ch.folder(), n);
        let bytes = match read_meta(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Failure::from_io(&e, &format!("reading {}/{n}", ch.folder().name()))),
        };
        bytes.and_then(|b| decode_channel(&b)).map_err(|d| self.quarantine_damaged(n, &d))
    }

    /// Marks recipient `index` of the channel done, in place, fsync'd; keeps the mtime.
    pub fn mark_done(&self, n: u64, ch: Channel, index: usize) -> Result<()> {
        self.settle(n)?;
        let entries = self.entries(n, ch)?;
        let Some(e) = entries.get(index) else {
            return Err(Failure::temp("3.0", format!("message {n} has no {} recipient #{index}", ch.folder().name())));
        };
        let what = format!("marking {}/{n} #{index} done", ch.folder().name());
        let r = (|| -> io::Result<()> {
            let f = OpenOptions::new().write(true).open(self.inner.layout.file(ch.folder(), n))?;
            let mtime = f.metadata()?.modified()?;
            f.write_all_at(b"D", e.offset)?;
            f.set_times(FileTimes::new().set_modified(mtime))?;
            self.inner.file_fsync(&f)
        })();
        r.map_err(|err| Failure::from_io(&err, &what))
    }

    /// Persists the channel's next attempt time as the list's mtime (qmail's convention).
    /// Settles the message first (preprocess.rs): a message that waits must survive a crash.
    pub fn set_next_attempt(&self, n: u64, ch: Channel, at: SystemTime) -> Result<()> {
        self.settle(n)?;
        let path = self.inner.layout.file(ch.folder(), n);
        let r = OpenOptions::new().write(true).open(&path).and_then(|f| f.set_times(FileTimes::new().set_modified(at)));
        r.map_err(|e| Failure::from_io(&e, &format!("setting the next attempt of {}/{n}", ch.folder().name())))
    }

    /// The persisted next attempt time; None when the channel has no list.
    pub fn next_attempt(&self, n: u64, ch: Channel) -> Result<Option<SystemTime>> {
        match fs::metadata(self.inner.layout.file(ch.folder(), n)).and_then(|m| m.modified()) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::from_io(&e, &format!("reading the next attempt of {}/{n}", ch.folder().name()))),
        }
    }
}
