//! Start-up recovery: qmail-send's and qmail-clean's work (§2.7), in one scan, after
//! unlinking every spare file's name (spare.rs: spares are not trusted after a crash).
//! `collect_garbage` is the garbage part alone, which the scheduler repeats while running.
//!
//! States (qmail's INTERNALS): S2 mess; S3 mess+intd (an add in progress or crashed);
//! S4 todo (committed; preprocessing is redone later); S5 info+channels (preprocessed).
//! - todo/ entries are checked: the envelope must decode and the body must exist, or the
//!   message goes to quarantine/ (reason: truncated envelope, unknown record, missing body).
//! - info/ entries without todo are checked the same way (info, body, channel lists).
//! - mess/ bodies with neither todo nor info are garbage (S2/S3, or the tail of a removal)
//!   once older than the garbage age: the body and any intd/local/remote/bounce are removed.
//! - intd/local/remote/bounce files whose message has no body, todo or info are garbage
//!   once older than the garbage age.
//!
//! Age is measured from the file's ctime (its last change of any kind): atime is unreliable
//! under relatime/noatime and mtime is the next-attempt time for channel lists. The
//! default garbage age is 36 hours, qmail's OSSIFIED, beyond any add in progress.
//!
//! Failures: a folder that cannot be listed → temporary (errno table). A single entry that
//! cannot be read or moved is skipped and retried at the next recovery: one bad entry
//! never stops the scan nor crashes the process.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use status::Result;

use crate::envelope::{decode_todo, Damage};
use crate::layout::{unlink_quiet, Folder};
use crate::read::{list, read_meta};
use crate::records::{decode_channel, decode_info};
use crate::Queue;

/// What recovery did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Garbage removed, as paths relative to the queue root (e.g. `mess/3/4294967296`).
    pub removed: Vec<String>,
    /// Damaged messages moved to quarantine/, with the reason.
    pub quarantined: Vec<(u64, String)>,
}

/// The default garbage age: qmail's OSSIFIED, 36 hours.
pub const GARBAGE_AGE: Duration = Duration::from_secs(36 * 3600);

impl Queue {
    /// Runs the start-up scan; `now` and `garbage_age` decide what counts as old garbage.
    pub fn recover(&self, now: SystemTime, garbage_age: Duration) -> Result<Recovery> {
        let mut report = Recovery::default();
        let spares = self.inner.syncs.spares.clear();
        spares.map_err(|e| status::Failure::from_io(&e, "clearing the queue's spare files"))?;
        let todo: HashSet<u64> = list(self, Folder::Todo)?.into_iter().collect();
        for &n in &todo {
            self.check_or_quarantine(n, self.check_todo(n), &mut report);
        }
        for n in list(self, Folder::Info)?.into_iter().filter(|n| !todo.contains(n)) {
            self.check_or_quarantine(n, self.check_info(n), &mut report);
        }
        report.removed = self.collect_garbage(now, garbage_age)?;
        Ok(report)
    }

    /// Removes old garbage only (qmail-clean's periodic work; safe while the queue runs:
    /// a live message always has todo or info, and nothing of an add in progress is old).
    /// Returns what it removed, as paths relative to the queue root.
    pub fn collect_garbage(&self, now: SystemTime, garbage_age: Duration) -> Result<Vec<String>> {
        let mut report = Recovery::default();
        let cutoff = now.checked_sub(garbage_age).unwrap_or(UNIX_EPOCH);
        let live: HashSet<u64> = list(self, Folder::Todo)?.into_iter().chain(list(self, Folder::Info)?).collect();
        let bodies: HashSet<u64> = list(self, Folder::Mess)?.into_iter().collect();
        for &n in bodies.iter().filter(|n| !live.contains(n)) {
            if self.older(Folder::Mess, n, cutoff) {
                self.remove_garbage(n, &mut report);
            }
        }
        for f in [Folder::Intd, Folder::Local, Folder::Remote, Folder::Bounce] {
            for n in list(self, f)?.into_iter().filter(|n| !live.contains(n) && !bodies.contains(n)) {
                if self.older(f, n, cutoff) {
                    self.unlink_garbage(f, n, &mut report);
                }
            }
        }
        Ok(report.removed)
    }

    fn check_or_quarantine(&self, n: u64, check: std::result::Result<(), Damage>, report: &mut Recovery) {
        if let Err(d) = check {
            // A failed move leaves the entry in place; the next recovery tries again.
            if self.quarantine(n, &d.0).is_ok() {
                report.quarantined.push((n, d.0));
            }
        }
    }

    fn check_todo(&self, n: u64) -> std::result::Result<(), Damage> {
        let bytes = readable(read_meta(&self.inner.layout.file(Folder::Todo, n)))?;
        bytes.map_or(Ok(()), |b| decode_todo(&b).map(|_| ()))?;
        self.body_present(n)
    }

    fn check_info(&self, n: u64) -> std::result::Result<(), Damage> {
        let info = readable(read_meta(&self.inner.layout.file(Folder::Info, n)))?;
        info.map_or(Ok(()), |b| decode_info(&b).map(|_| ()))?;
        self.body_present(n)?;
        for f in [Folder::Local, Folder::Remote] {
            let list = readable(read_meta(&self.inner.layout.file(f, n)))?;
            list.map_or(Ok(()), |b| decode_channel(&b).map(|_| ()))?;
        }
        Ok(())
    }

    /// True when folder/<n> last changed before `cutoff`.
    fn older(&self, f: Folder, n: u64, cutoff: SystemTime) -> bool {
        let changed = fs::symlink_metadata(self.inner.layout.file(f, n)).map(|m| UNIX_EPOCH + Duration::from_secs(m.ctime().max(0) as u64));
        changed.is_ok_and(|t| t < cutoff)
    }

    fn remove_garbage(&self, n: u64, report: &mut Recovery) {
        for f in [Folder::Intd, Folder::Local, Folder::Remote, Folder::Bounce, Folder::Mess] {
            self.unlink_garbage(f, n, report);
        }
    }

    fn unlink_garbage(&self, f: Folder, n: u64, report: &mut Recovery) {
        if let Ok(true) = unlink_quiet(&self.inner.layout.file(f, n)) {
            report.removed.push(format!("{}/{}/{n}", f.name(), crate::id::bucket(n)));
        }
    }
}

/// A metadata read for checking: Ok(None) when the file is missing or unreadable (not
/// damage: it may have moved on, or be readable next time), Err when it is damaged.
fn readable(r: io::Result<std::result::Result<Vec<u8>, Damage>>) -> std::result::Result<Option<Vec<u8>>, Damage> {
    match r {
        Ok(Ok(bytes)) => Ok(Some(bytes)),
        Ok(Err(d)) => Err(d),
        Err(_) => Ok(None),
    }
}
