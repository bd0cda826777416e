//! Preprocessing (qmail-send §2.4): todo/<id> → info/<id> + local/<id> + remote/<id>, in
//! two steps so that a message delivered at its first attempt never pays for bookkeeping
//! it does not need.
//!
//! `preprocess` (redone from scratch while todo exists after a restart: idempotent, S4)
//! reads todo and keeps the routed result in memory (an in-memory map): no file is
//! written and todo stays. The message is *unsettled*. A crash now leaves todo, so the
//! next start preprocesses it again; nothing is lost.
//!
//! `settle` writes the preprocessing to disk (qmail's S5):
//!   1. remove any info, local, remote, bounce left by an interrupted earlier attempt
//!   2. create info (F<sender>) with its mtime set to the commit time (the birth)
//!   3. create local and remote lists (T records) for the channels that have recipients
//!   4. fsync info and the channel lists, then the subdirectories whose entries changed
//!      in 1-3 (group): info always, local/remote only for a channel with recipients or
//!      a leftover removed
//!   5. unlink todo (the end of preprocessing), then intd; fsync todo/<b> (group)
//!
//! Anything that records progress settles first: `mark_done`, `append_bounce` and
//! `set_next_attempt` (a deferral). So a done mark is never written to a list that a
//! crash could throw away, and a message that waits for a retry is settled. A message
//! whose recipients are all delivered at the first attempt is removed unsettled: it never
//! had info or lists. A crash while it is unsettled delivers it again (at-least-once: at
//! most one duplicate a recipient, DESIGN.md's promise 1).
//!
//! Only this process's own preprocessings are unsettled: after a restart a todo entry is
//! preprocessed again from scratch, never settled as it is. `list_todo` leaves out this
//! process's unsettled messages and `list_queued` adds them: they are preprocessed. The
//! map answers `info`, `recipients` and `read_bounce` for them (no bounce yet: appending
//! one settles first). Other processes (`qmta queue`) see them in todo/ until they settle.
//!
//! Departures from qmail: the birth time is the commit time rather than the time of
//! preprocessing, so a redo keeps it; a leftover bounce file is removed in step 1 too
//! (its recipients will be attempted again, and would otherwise be reported twice).
//! The recipients are the routed ones (after virtualdomains etc.), chosen by the caller.
//!
//! Failures: a routed address over 2,000 bytes, empty, or with NUL/CR/LF → permanent
//! 5.1.3; more routed recipients than the limit → permanent 5.5.3; a damaged todo entry
//! → quarantined, temporary 4.3.0; I/O while settling → temporary (errno table) and todo
//! stays, so the next attempt redoes everything. Called again after success it does
//! nothing.

use std::fs::{self, File, FileTimes};
use std::io::{self, Write};
use std::time::SystemTime;

use status::{Failure, Result};

use crate::envelope::{check_recipient, MAX_ROUTED_ADDRESS};
use crate::id::bucket;
use crate::layout::{unlink_quiet, Folder};
use crate::records::{encode_channel, encode_info};
use crate::commit::cut_here;
use crate::{fault, Queue};

/// Locks that keep two settles of one message apart (by id modulo this).
pub(crate) const SETTLE_STRIPES: usize = 16;

/// An unsettled preprocessing (see the header).
#[derive(Clone)]
pub(crate) struct Unsettled {
    pub(crate) sender: Vec<u8>,
    pub(crate) birth: SystemTime,
    pub(crate) local: Vec<Vec<u8>>,
    pub(crate) remote: Vec<Vec<u8>>,
}

impl Queue {
    /// Preprocesses message `n` with its routed recipients, unsettled (see the header).
    pub fn preprocess(&self, n: u64, local: &[Vec<u8>], remote: &[Vec<u8>]) -> Result<()> {
        self.check_routed(local, remote)?;
        let todo_path = self.inner.layout.file(Folder::Todo, n);
        if self.is_unsettled(n) || (!todo_path.exists() && self.inner.layout.file(Folder::Info, n).exists()) {
            return Ok(());
        }
        let entry = self.read_todo(n)?;
        let (local, remote) = (local.to_vec(), remote.to_vec());
        self.unsettled().insert(n, Unsettled { sender: entry.envelope.sender, birth: entry.birth, local, remote });
        Ok(())
    }

    /// Writes this process's preprocessing of `n` durably and drops todo (see the header);
    /// nothing to do for a message that is settled, or not preprocessed by this process.
    pub fn settle(&self, n: u64) -> Result<()> {
        if !self.is_unsettled(n) {
            return Ok(());
        }
        // The deliveries to one message's recipients run at once and each settles first:
        // one writes the files, the others wait for it and then find the message settled.
        let stripe = &self.inner.settling[(n % SETTLE_STRIPES as u64) as usize];
        let _one = stripe.lock().unwrap_or_else(|p| p.into_inner());
        // A copy, so that the map's lock is not held through the file work.
        let Some(u) = self.unsettled().get(&n).cloned() else { return Ok(()) };
        let touched = self.write_preprocessing(n, &u)?;
        let io = |what: &'static str| move |e: io::Error| Failure::from_io(&e, what);
        let b = bucket(n);
        for f in touched {
            self.inner.syncs.sync(f, b).map_err(io("syncing preprocessed files"))?;
        }
        fault::point("before_todo_unlink");
        // The todo unlink ends preprocessing; if it fails, todo stays and everything is redone.
        unlink_quiet(&self.inner.layout.file(Folder::Todo, n)).map_err(io("removing the todo entry"))?;
        self.inner.syncs.spares.recycle(&self.inner.layout.file(Folder::Intd, n)).map_err(io("removing the intd entry"))?;
        fault::point("todo_unlinked");
        self.inner.syncs.sync(Folder::Todo, b).map_err(io("syncing the todo folder"))?;
        self.unsettled().remove(&n);
        Ok(())
    }

    /// Steps 1-3 and the file fsyncs of step 4; returns the folders whose entries changed.
    fn write_preprocessing(&self, n: u64, u: &Unsettled) -> Result<Vec<Folder>> {
        let io = |what: &'static str| move |e: io::Error| Failure::from_io(&e, what);
        // Only changed folders need a directory fsync (a message without remote
        // recipients never touches remote/).
        let mut touched = vec![Folder::Info];
        for f in [Folder::Info, Folder::Local, Folder::Remote, Folder::Bounce] {
            if unlink_quiet(&self.inner.layout.file(f, n)).map_err(io("removing an earlier preprocessing"))? && !touched.contains(&f) {
                touched.push(f);
            }
        }
        self.write_meta(Folder::Info, n, &encode_info(&u.sender), Some(u.birth))?;
        fault::point("info_written");
        for (f, rcpts) in [(Folder::Local, &u.local), (Folder::Remote, &u.remote)] {
            if self.write_channel(f, n, rcpts)? && !touched.contains(&f) {
                touched.push(f);
            }
        }
        Ok(touched)
    }

    pub(crate) fn is_unsettled(&self, n: u64) -> bool {
        self.unsettled().contains_key(&n)
    }

    pub(crate) fn unsettled(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Unsettled>> {
        self.inner.unsettled.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_routed(&self, local: &[Vec<u8>], remote: &[Vec<u8>]) -> Result<()> {
        let count = local.len() + remote.len();
        let max = self.inner.max_recipients;
        if count > max {
            return Err(Failure::perm("5.3", format!("too many recipients: {count}, the limit is {max}")));
        }
        local.iter().chain(remote).try_for_each(|a| check_recipient(a, MAX_ROUTED_ADDRESS))
    }

    /// Writes the channel list when it has recipients; true when a file was created.
    fn write_channel(&self, f: Folder, n: u64, rcpts: &[Vec<u8>]) -> Result<bool> {
        if rcpts.is_empty() {
            return Ok(false);
        }
        self.write_meta(f, n, &encode_channel(rcpts), None).map(|()| true)
    }

    /// Creates folder/<n> with `bytes`, optionally sets its mtime, and fsyncs it.
    fn write_meta(&self, f: Folder, n: u64, bytes: &[u8], mtime: Option<SystemTime>) -> Result<()> {
        let what = format!("writing {}/{n}", f.name());
        let r = (|| -> io::Result<()> {
            let mut file: File = self.inner.syncs.spares.create(&self.inner.layout.file(f, n))?;
            file.write_all(bytes)?;
            cut_here(&mut file)?;
            if let Some(t) = mtime {
                file.set_times(FileTimes::new().set_modified(t))?;
            }
            self.inner.file_fsync(&file)
        })();
        r.map_err(|e| {
            let _ = fs::remove_file(self.inner.layout.file(f, n));
            Failure::from_io(&e, &what)
        })
    }
}
