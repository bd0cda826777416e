//! Moving a damaged message aside: quarantine/<id>/ (or <id>.1, <id>.2 … when an earlier
//! message with the same id is already there) receives every file of the message, named
//! by the folder it came from (todo, info, local, …, mess), plus `reason`, one line.
//!
//! Order: todo and info first, so the scheduler stops seeing the message at once; mess
//! last, so the id stays reserved until the move is complete (an id is free only when
//! mess/<id> is gone). The quarantine directory and its parent are fsync'd.
//!
//! Failures: I/O errors → temporary (errno table); the files not yet moved stay where
//! they were and a later recovery tries again.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use status::{Failure, Result};

use crate::envelope::Damage;
use crate::layout::{sync_dir, Folder};
use crate::writer::create_excl;
use crate::Queue;

/// Move order: visible states first, the body (the id's reservation) last.
const ORDER: [Folder; 7] =
    [Folder::Todo, Folder::Info, Folder::Intd, Folder::Local, Folder::Remote, Folder::Bounce, Folder::Mess];
/// Same-id quarantine directories tried before giving up.
const SLOTS: usize = 1000;

impl Queue {
    /// Moves every file of message `n` to quarantine/ with `reason`; returns the directory.
    pub fn quarantine(&self, n: u64, reason: &str) -> Result<PathBuf> {
        let io = |e: io::Error| Failure::from_io(&e, &format!("quarantining {n}"));
        self.unsettled().remove(&n);
        let dir = self.quarantine_dir(n).map_err(io)?;
        let mut why = create_excl(&dir.join("reason")).map_err(io)?;
        why.write_all(format!("{}\n", reason.replace('\n', " ")).as_bytes()).map_err(io)?;
        why.sync_all().map_err(io)?;
        for f in ORDER {
            match fs::rename(self.inner.layout.file(f, n), dir.join(f.name())) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        sync_dir(&dir).and_then(|()| sync_dir(&self.inner.layout.quarantine())).map_err(io)?;
        Ok(dir)
    }

    fn quarantine_dir(&self, n: u64) -> io::Result<PathBuf> {
        let base = self.inner.layout.quarantine();
        for k in 0..SLOTS {
            let name = if k == 0 { n.to_string() } else { format!("{n}.{k}") };
            let dir = base.join(name);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("too many quarantined messages with this id"))
    }

    /// Quarantines a message found damaged and returns the failure the caller reports.
    pub(crate) fn quarantine_damaged(&self, n: u64, d: &Damage) -> Failure {
        match self.quarantine(n, &d.0) {
            Ok(_) => Failure::temp("3.0", format!("queue entry {n} damaged, moved to quarantine: {d}")),
            Err(f) => Failure::temp("3.0", format!("queue entry {n} damaged ({d}); quarantine failed: {}", f.text)),
        }
    }
}
