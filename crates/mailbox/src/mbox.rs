//! mbox delivery as qmail-local's mailfile (qmail.md §5.9), with a dotlock added.
//!
//! Interface: `deliver_mbox(&MboxDelivery) -> Result<()>`.
//!
//! Steps: open the folder through safe_path, open the mbox O_APPEND|O_NOFOLLOW (created
//! 0600 when missing; it must be a regular file); lock (lock.rs: fcntl + dotlock, one
//! bounded wait); note the size; write the From_ line, the header bytes and the body
//! through the mboxrd quoter, an LF if the message lacks a final one, then the blank
//! line; fsync; remove the dotlock; closing the file drops the fcntl lock. The close is
//! not checked: fsync has already reported write errors, and a failure seen at close
//! could no longer be truncated away.
//!
//! Failures: a `..`, a symlinked folder or a symlink/non-regular mbox -> temporary
//! 4.7.0; locked past the wait -> temporary 4.3.0; bad header bytes or a sender over
//! 1000 bytes -> temporary 4.3.0 (caller bugs; the queue bounds senders); OS errors ->
//! the errno table (EFBIG permanent 5.2.2, the rest temporary).
//! Guarantees: on any failure after locking, the mbox is truncated back to its size
//! before the delivery (and fsync'd), so it never keeps half a message. A crash (power,
//! SIGKILL) in the middle of the write can still leave half a message, as with qmail:
//! that is mbox's nature, and why maildir is the default.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use status::{Failure, Result};

use crate::fault::{self, Step};
use crate::{check_headers, from_line, lock, open_body, safe_path, sys, Quoter};

/// qmail's lock wait.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);
/// A dotlock older than this was left by a crashed writer.
pub const DOTLOCK_STALE: Duration = Duration::from_secs(300);
/// Longest envelope sender accepted for the From_ line (the queue's address bound).
pub const SENDER_MAX: usize = 1000;
const CHUNK: usize = 64 * 1024;

/// One mbox delivery.
pub struct MboxDelivery<'a> {
    pub mbox: &'a Path,
    /// Envelope sender for the From_ line; empty means the null sender.
    pub sender: &'a [u8],
    pub headers: &'a [u8],
    pub body: &'a Path,
    pub lock_wait: Duration,
    pub dotlock_stale: Duration,
}

impl<'a> MboxDelivery<'a> {
    /// A delivery with qmail's 30 s lock wait and a 300 s stale dotlock age.
    pub fn new(mbox: &'a Path, sender: &'a [u8], headers: &'a [u8], body: &'a Path) -> Self {
        MboxDelivery { mbox, sender, headers, body, lock_wait: LOCK_WAIT, dotlock_stale: DOTLOCK_STALE }
    }
}

/// Appends one message to the mbox; see the module header.
pub fn deliver_mbox(d: &MboxDelivery) -> Result<()> {
    check_headers(d.headers)?;
    if d.sender.len() > SENDER_MAX {
        return Err(Failure::temp("3.0", format!("envelope sender over {SENDER_MAX} bytes")));
    }
    let mut body = open_body(d.body)?;
    let (dir, name) = safe_path::open_parent(d.mbox)?;
    let file = open_mbox(&dir, &name, d.mbox)?;
    let dotlock = lock::acquire(&file, &dir, &name, d.mbox, d.lock_wait, d.dotlock_stale)?;
    let result = append(&file, d, &mut body);
    dotlock.release();
    result
}

fn open_mbox(dir: &OwnedFd, name: &[u8], path: &Path) -> Result<File> {
    // O_NONBLOCK: a FIFO planted as the mbox fails at once (ENXIO) instead of hanging.
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let fd = sys::openat(dir.as_raw_fd(), name, flags, 0o600)
        .map_err(|e| safe_path::explain_file(dir, name, path, e))?;
    let st = sys::fstat(fd.as_fd()).map_err(|e| Failure::from_io(&e, &format!("checking {}", path.display())))?;
    if !sys::is_regular(&st) {
        return Err(safe_path::refuse(path, "it is not a regular file"));
    }
    Ok(File::from(fd))
}

/// Writes and syncs the message; on failure truncates the mbox back to its old size.
fn append(file: &File, d: &MboxDelivery, body: &mut File) -> Result<()> {
    let what = format!("writing {}", d.mbox.display());
    let size = sys::fstat(file.as_fd()).map_err(|e| Failure::from_io(&e, &what))?.st_size;
    let written = fault::at(Step::MboxLocked)
        .and_then(|_| write_message(file, d, body))
        .and_then(|_| sys::fsync(file.as_fd()))
        .and_then(|_| fault::at(Step::MboxSynced));
    let Err(e) = written else { return Ok(()) };
    let mut failure = Failure::from_io(&e, &what);
    if let Err(t) = truncate_back(file, size) {
        failure.text.push_str(&format!("; truncating back to {size} bytes failed: {t}"));
    }
    Err(failure)
}

fn truncate_back(file: &File, size: libc::off_t) -> io::Result<()> {
    if unsafe { libc::ftruncate(file.as_raw_fd(), size) } != 0 {
        return Err(io::Error::last_os_error());
    }
    sys::fsync(file.as_fd())
}

/// From_ line, quoted headers and body, final LF if missing, blank line.
fn write_message(file: &File, d: &MboxDelivery, body: &mut File) -> io::Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let mut out = BufWriter::with_capacity(CHUNK, Checked(file));
    out.write_all(&from_line(d.sender, now))?;
    let mut quoter = Quoter::default();
    quoter.write(d.headers, &mut out)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        quoter.write(&buf[..n], &mut out)?;
    }
    quoter.finish(&mut out)?;
    out.write_all(b"\n")?;
    out.flush()?;
    fault::at(Step::MboxWritten)
}

/// A writer that passes each write(2) through the fault-injection point.
struct Checked<'f>(&'f File);

impl Write for Checked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.0).write(buf)?;
        fault::at(Step::MboxChunk)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
