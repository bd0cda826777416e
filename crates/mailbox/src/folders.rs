//! The open folders of a maildir (tmp/ and new/), kept for the next delivery to it: a
//! delivery to a kept maildir costs one lstat(2) of its path instead of the walk, the
//! mkdir of cur/ and the opening and closing of three folders (about nine system calls;
//! on the accept path each message is one delivery).
//!
//! Interface: `open(maildir)` -> the folders, kept or opened now through safe_path.
//! Guarantee: kept descriptors are used only while the path still names the same folder
//! (device and inode) with the same ctime as when they were opened. Any entry of the
//! maildir added, removed or renamed (tmp/, new/, cur/ replaced or removed), and any chmod
//! or chown of it, changes that ctime; the folders are then opened again by path, as
//! qmail-local opens them for every delivery. A maildir changed within the timestamps'
//! granularity is not kept: a second change could leave the same ctime (git's "racy"
//! files; the RCPT cache's rule too, ts/local/dot-qmail-fs.ts): SETTLE after a ctime with a
//! sub-second part (a filesystem keeping nanoseconds, stamped from a clock that ticks at
//! least every 10 ms), WHOLE_SECONDS_SETTLE after one without (it may keep seconds).
//! Permissions are checked by the kernel when a file is created or linked through a
//! descriptor, so a kept one grants nothing the path would not; a parent that is no longer
//! searchable fails the lstat. The lstat follows a parent that became a symlink, but only
//! to the very folder that was checked for symlinks when it was opened. Only absolute paths
//! are kept (a relative one depends on the current folder).
//! Bounds: at most CAPACITY maildirs (two descriptors each); a full set is emptied, and an
//! entry that no longer holds is replaced or dropped by the next delivery to its path.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use status::{Failure, Result};

use crate::safe_path::{self, LOOKUP, SYNCABLE};
use crate::sys;

const CAPACITY: usize = 256;
const SETTLE: Duration = Duration::from_millis(100);
const WHOLE_SECONDS_SETTLE: Duration = Duration::from_secs(2);

/// The open folders of one maildir.
pub struct Folders {
    pub tmp: OwnedFd,
    pub new: OwnedFd,
}

/// What stat(2) says of a maildir: the same value means the same folder, unchanged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) ctime: (i64, i64),
}

impl Seen {
    fn of(st: &libc::stat) -> Seen {
        Seen { dev: st.st_dev, ino: st.st_ino, ctime: (st.st_ctime, st.st_ctime_nsec) }
    }

    /// Changed more than `settle` ago (at least WHOLE_SECONDS_SETTLE for a whole-second ctime).
    pub(crate) fn settled(&self, settle: Duration, now: Duration) -> bool {
        let settle = if self.ctime.1 == 0 { settle.max(WHOLE_SECONDS_SETTLE) } else { settle };
        let since = now.saturating_sub(settle);
        self.ctime < (since.as_secs() as i64, i64::from(since.subsec_nanos()))
    }
}

/// The maildirs kept, by path.
pub struct Kept {
    settle: Duration,
    entries: Mutex<HashMap<PathBuf, (Seen, Arc<Folders>)>>,
}

/// The folders of `maildir`, kept from an earlier delivery while that still holds.
pub fn open(maildir: &Path) -> Result<Arc<Folders>> {
    static KEPT: OnceLock<Kept> = OnceLock::new();
    KEPT.get_or_init(|| Kept::new(SETTLE)).open(maildir)
}

impl Kept {
    pub fn new(settle: Duration) -> Kept {
        Kept { settle, entries: Mutex::default() }
    }

    pub fn open(&self, maildir: &Path) -> Result<Arc<Folders>> {
        if let Some(folders) = self.get(maildir) {
            return Ok(folders);
        }
        let (seen, folders) = open_folders(maildir)?;
        let folders = Arc::new(folders);
        let mut entries = self.lock();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok();
        if maildir.is_absolute() && now.is_some_and(|now| seen.settled(self.settle, now)) {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(maildir.to_path_buf(), (seen, folders.clone()));
        } else {
            // A stale entry's descriptors go now, not when the set is next emptied.
            entries.remove(maildir);
        }
        Ok(folders)
    }

    fn get(&self, maildir: &Path) -> Option<Arc<Folders>> {
        let (seen, folders) = self.lock().get(maildir).cloned()?;
        // The lstat runs outside the lock: other deliveries do not wait for it.
        let now = sys::lstatat(libc::AT_FDCWD, maildir.as_os_str().as_encoded_bytes()).ok()?;
        (Seen::of(&now) == seen).then_some(folders)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, (Seen, Arc<Folders>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens the maildir through safe_path (creating it and cur/ new/ tmp/ when missing). Its
/// stat is taken before its folders are opened: a change after it changes the ctime.
fn open_folders(maildir: &Path) -> Result<(Seen, Folders)> {
    let root = safe_path::open_dir(maildir)?;
    let st = sys::fstat(root.as_fd()).map_err(|e| Failure::from_io(&e, &format!("opening {}", maildir.display())))?;
    safe_path::make_dir(&root, OsStr::new("cur"), maildir)?;
    let new = safe_path::open_child(&root, OsStr::new("new"), maildir, SYNCABLE)?;
    let tmp = safe_path::open_child(&root, OsStr::new("tmp"), maildir, LOOKUP)?;
    Ok((Seen::of(&st), Folders { tmp, new }))
}
