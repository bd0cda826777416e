//! Locking an mbox the way mail readers expect: an fcntl write lock on the whole file
//! (what qmail and mutt take) plus a dotlock `<mbox>.lock` (what mutt, procmail and
//! mail readers on NFS take), fcntl first as mutt does. Both waits share one bound.
//!
//! The fcntl lock is an open-file-description lock (F_OFD_SETLK): it conflicts with the
//! classic POSIX locks other programs take, but unlike them it also excludes other
//! threads of this process (the tinypool workers) and is not dropped when some other
//! descriptor of the file is closed. It goes away when the mbox descriptor is closed.
//!
//! Failures: still locked when the wait ends -> temporary 4.3.0 "File has been locked
//! for N seconds straight." (qmail's text); any other OS error -> the errno table.
//! Where the filesystem cannot lock at all (ENOLCK, EINVAL) the write goes on with the
//! dotlock only, as qmail writes unlocked then. A dotlock older than the stale age is
//! left by a crashed writer and is removed.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use status::{Failure, Result};

use crate::sys;

const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

/// A held dotlock; `release` removes it.
pub struct DotLock<'a> {
    dir: &'a OwnedFd,
    name: Vec<u8>,
}

impl DotLock<'_> {
    /// Removes the dotlock file.
    pub fn release(self) {
        let _ = sys::unlinkat(self.dir.as_fd(), &self.name);
    }
}

/// Takes the fcntl lock on `file`, then the dotlock `<name>.lock` in `dir`.
pub fn acquire<'a>(file: &File, dir: &'a OwnedFd, name: &[u8], path: &Path, wait: Duration, stale: Duration) -> Result<DotLock<'a>> {
    let deadline = Instant::now() + wait;
    let busy = || Failure::temp("3.0", format!("File has been locked for {} seconds straight.", wait.as_secs_f64()));
    let what = |e: io::Error| Failure::from_io(&e, &format!("locking {}", path.display()));
    if !lock_file(file, deadline).map_err(what)? {
        return Err(busy());
    }
    let mut lock_name = name.to_vec();
    lock_name.extend_from_slice(b".lock");
    if !take_dotlock(dir, &lock_name, deadline, stale).map_err(what)? {
        return Err(busy());
    }
    Ok(DotLock { dir, name: lock_name })
}

/// Waits with growing pauses until `deadline`; false when it has passed.
fn pause(deadline: Instant, pause: &mut Duration) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    sleep((*pause).min(deadline - now));
    *pause = (*pause * 2).min(LONGEST_PAUSE);
    true
}

/// The whole-file OFD write lock; Ok(false) when still held by someone at the deadline.
fn lock_file(file: &File, deadline: Instant) -> io::Result<bool> {
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let mut wait = FIRST_PAUSE;
    loop {
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) } == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EACCES) | Some(libc::EINTR) => {}
            Some(libc::ENOLCK) | Some(libc::EINVAL) => return Ok(true),
            _ => return Err(err),
        }
        if !pause(deadline, &mut wait) {
            return Ok(false);
        }
    }
}

/// Creates the dotlock with O_EXCL; Ok(false) when still held at the deadline.
fn take_dotlock(dir: &OwnedFd, name: &[u8], deadline: Instant, stale: Duration) -> io::Result<bool> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let mut wait = FIRST_PAUSE;
    loop {
        match sys::openat(dir.as_raw_fd(), name, flags, 0o600) {
            Ok(_) => return Ok(true),
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
            Err(_) if is_stale(dir, name, stale) => {
                let _ = sys::unlinkat(dir.as_fd(), name);
                continue;
            }
            Err(_) => {}
        }
        if !pause(deadline, &mut wait) {
            return Ok(false);
        }
    }
}

/// True when the lock file's mtime is older than `stale`.
fn is_stale(dir: &OwnedFd, name: &[u8], stale: Duration) -> bool {
    let Ok(st) = sys::lstatat(dir.as_raw_fd(), name) else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    now.saturating_sub(st.st_mtime) > stale.as_secs() as i64
}
