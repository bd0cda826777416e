//! Maildir delivery, qmail-local's protocol (qmail.md §6.2) with the modern unique name.
//!
//! Interface:
//! - `deliver_maildir(&MaildirDelivery) -> Result<String>`, the name in new/: one whole
//!   delivery of header bytes plus a body file (the queue's), as qmail-local does it;
//! - the same steps one by one, for a writer that delivers one message into several
//!   maildirs and shares its syncs with other writers (crates/accept): `stage` (tmp/ file
//!   written, made durable by the caller's sync) → `Staged::link` (into new/: the
//!   delivery moment) → `Staged::sync_new` (new/ made durable, through the caller's group
//!   sync) → drop (a tmp/ name removed). `Staged::unlink_new` takes a linked file back out
//!   of new/.
//!
//! Steps: open the maildir through safe_path (creating maildir, tmp, new, cur 0700 when
//! missing), or take its folders kept from the last delivery while its path still names
//! them unchanged (folders.rs); create the file in tmp/ without a name (O_TMPFILE, 0600),
//! or where that cannot be done (NFS, no /proc) as tmp/NAME with O_EXCL (a name clash
//! retries with the next name, three tries); write the content (header bytes, then the
//! body: a file copied inside the kernel where possible, never held whole in memory);
//! fsync; a named file is closed (checked) and linked tmp/NAME -> new/NAME, a nameless one
//! linked as new/NAME (by its descriptor, or through /proc/self/fd where the kernel
//! refuses that; a clash retries as above) and then closed, checked; fsync new/; unlink
//! tmp/NAME (best effort, as qmail).
//! Why nameless: qmail's tmp/ name costs its creation, its unlink and the tmp/ folder's
//! block in the next sync of the filesystem (on the accept path's sync thread, about a
//! sixth of its CPU), and it is what a crash leaves behind.
//!
//! Failures: a `..` or symlinked path -> temporary 4.7.0; every OS error -> the errno
//! table (crates/status: all temporary, as qmail, except EFBIG, permanent 5.2.2); bad
//! header bytes (over 64 KiB, not ending in LF) -> temporary 4.3.0 (a caller bug).
//! Guarantees: on any failure the tmp file is removed and nothing stays in new/ (a
//! failure after the link removes new/NAME again, so a reported failure never also
//! delivers; a reader that grabbed it in that instant gets a duplicate later, never a
//! loss). A crash before the link leaves nothing (the kernel frees a nameless file, or
//! fsck on a filesystem without a journal) or a file in tmp/ (readers clean tmp/ after
//! 36 h); after the link, a complete message in new/.
//! Departure from qmail: no 24 h alarm; the body is a local file of known size.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use status::{Failure, Result};

use crate::fault::{self, Step};
use crate::folders::{self, Folders};
use crate::{check_headers, open_body, sys, unique};

const NAME_TRIES: usize = 3;

/// One maildir delivery: header bytes (each line ending in LF) then the body file.
pub struct MaildirDelivery<'a> {
    pub maildir: &'a Path,
    pub headers: &'a [u8],
    pub body: &'a Path,
}

/// A message written to tmp/ and made durable there, not yet delivered.
pub struct Staged {
    /// Shared with the next deliveries to the maildir (folders.rs).
    folders: Arc<Folders>,
    /// Its name in new/ (a named file has the same one in tmp/).
    name: String,
    maildir: PathBuf,
    tmp: Tmp,
    linked: bool,
}

/// The file in tmp/.
enum Tmp {
    /// O_TMPFILE, open until its link (closing it earlier frees it).
    Nameless(Option<File>),
    /// tmp/NAME, closed once written.
    Named,
}

/// Delivers into the maildir; returns the unique name of the file now in new/.
pub fn deliver_maildir(d: &MaildirDelivery) -> Result<String> {
    check_headers(d.headers)?;
    let mut body = open_body(d.body)?;
    let write = |file: &mut File| {
        file.write_all(d.headers).and_then(|_| fault::at(Step::HeadersWritten))?;
        io::copy(&mut body, file).map(drop)
    };
    let mut staged = stage(d.maildir, write, sys::fsync)?;
    staged.link()?;
    staged.sync_new(sys::fsync)?;
    Ok(staged.name().to_string())
}

/// Writes a new tmp/ file with `write` (the content, in order), makes it durable with
/// `sync` (given the file: an fsync, or a sync of its whole filesystem) and closes it; a
/// nameless file stays open until its link (closing it would free it).
pub fn stage(
    maildir: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
    sync: impl FnOnce(BorrowedFd) -> io::Result<()>,
) -> Result<Staged> {
    let folders = folders::open(maildir)?;
    let (name, mut file, named) = create_tmp(&folders, maildir)?;
    // From here a failure drops `staged`, which unlinks a tmp/ name (a nameless file goes
    // with its descriptor).
    let tmp = if named { Tmp::Named } else { Tmp::Nameless(None) };
    let mut staged = Staged { folders, name, maildir: maildir.to_path_buf(), tmp, linked: false };
    // The error text is made only on a failure: no copy of the name per message.
    let what = if named { staged.name.as_str() } else { "(nameless)" };
    let fail = |step: &str| format!("{step} tmp/{what} in {}", maildir.display());
    let err = |step: &'static str| move |e: io::Error| Failure::from_io(&e, &fail(step));
    fault::at(Step::TmpCreated).map_err(err("creating"))?;
    write(&mut file).and_then(|_| fault::at(Step::BodyWritten)).map_err(err("writing"))?;
    sync(file.as_fd()).and_then(|_| fault::at(Step::Synced)).map_err(err("syncing"))?;
    if named {
        sys::close_checked(file).and_then(|_| fault::at(Step::Closed)).map_err(err("closing"))?;
    } else {
        staged.tmp = Tmp::Nameless(Some(file));
    }
    Ok(staged)
}

impl Staged {
    /// The unique name in new/ (a named file has it in tmp/ too).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The maildir's new/ folder.
    pub fn new_dir(&self) -> PathBuf {
        self.maildir.join("new")
    }

    /// The link into new/ is the delivery moment (durable once new/ is fsync'd). A failing
    /// link removes nothing there (an EEXIST would be somebody else's file).
    pub fn link(&mut self) -> Result<()> {
        let file = match &mut self.tmp {
            Tmp::Nameless(file) => file.take(),
            Tmp::Named => None,
        };
        let linked = match &file {
            Some(f) => self.link_nameless(f),
            None => sys::linkat(self.folders.tmp.as_fd(), self.name.as_bytes(), self.folders.new.as_fd(), self.name.as_bytes()),
        };
        linked.map_err(|e| Failure::from_io(&e, &self.what("linking")))?;
        self.linked = true;
        let closed = file.map_or(Ok(()), |f| sys::close_checked(f).and_then(|_| fault::at(Step::Closed)));
        closed.and_then(|_| fault::at(Step::Linked)).map_err(|e| {
            self.unlink_new();
            Failure::from_io(&e, &self.what("linking"))
        })
    }

    /// Links the nameless file as new/NAME; a name taken meanwhile tries the next name.
    fn link_nameless(&mut self, file: &File) -> io::Result<()> {
        for _ in 1..NAME_TRIES {
            match link_file(file, self.folders.new.as_fd(), self.name.as_bytes(), &LINK_BY_FD) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => self.name = unique::next_name(),
                r => return r,
            }
        }
        link_file(file, self.folders.new.as_fd(), self.name.as_bytes(), &LINK_BY_FD)
    }

    /// Makes the link durable with `fsync_new` (given new/'s descriptor: a plain fsync, or a
    /// group sync that may run on another writer's descriptor). A failure takes the file
    /// back out of new/.
    pub fn sync_new(&mut self, fsync_new: impl FnOnce(BorrowedFd) -> io::Result<()>) -> Result<()> {
        let synced = fsync_new(self.folders.new.as_fd()).and_then(|_| fault::at(Step::NewSynced));
        synced.map_err(|e| {
            self.unlink_new();
            Failure::from_io(&e, &self.what("syncing"))
        })
    }

    /// Takes a linked file back out of new/ (a sibling delivery of the same message failed).
    pub fn unlink_new(&mut self) {
        if std::mem::take(&mut self.linked) {
            let _ = sys::unlinkat(self.folders.new.as_fd(), self.name.as_bytes());
        }
    }

    fn what(&self, step: &str) -> String {
        format!("{step} new/{} in {}", self.name, self.maildir.display())
    }
}

impl Drop for Staged {
    /// A named file's tmp/NAME goes in every case: after the link new/NAME holds the
    /// message. A panic stands for a crash and leaves tmp/NAME, as a crash would (readers
    /// clean tmp/). A nameless file has nothing to remove.
    fn drop(&mut self) {
        if matches!(self.tmp, Tmp::Named) && !std::thread::panicking() {
            let _ = sys::unlinkat(self.folders.tmp.as_fd(), self.name.as_bytes());
        }
    }
}

/// The file in tmp/, its name in new/ and whether it has that name in tmp/: nameless
/// where the filesystem and /proc allow.
fn create_tmp(folders: &Folders, maildir: &Path) -> Result<(String, File, bool)> {
    if proc_fds() {
        let nameless = fault::at(Step::Nameless).and_then(|_| sys::openat(folders.tmp.as_raw_fd(), b".", libc::O_TMPFILE | libc::O_WRONLY, 0o600));
        match nameless {
            Ok(fd) => return Ok((unique::next_name(), File::from(fd), false)),
            // Not supported by this filesystem (EOPNOTSUPP) or kernel (EISDIR).
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {}
            Err(e) => return Err(Failure::from_io(&e, &format!("creating a file in {}/tmp", maildir.display()))),
        }
    }
    let (name, file) = create_named(folders, maildir)?;
    Ok((name, file, true))
}

/// Whether a nameless file may be linked by its descriptor; false once the kernel refused
/// that and /proc/self/fd then worked.
static LINK_BY_FD: AtomicBool = AtomicBool::new(true);

/// Links a nameless file by its descriptor where the kernel allows it, which spares the
/// walk of /proc/self/fd/N (about 2.5 of the link's 13 µs into a new/ of 4,000 files);
/// else, and from then on (`by_fd` cleared), through /proc/self/fd.
pub(crate) fn link_file(file: &File, to: BorrowedFd, name: &[u8], by_fd: &AtomicBool) -> io::Result<()> {
    if by_fd.load(Ordering::Relaxed) {
        match sys::link_open(file.as_fd(), to, name) {
            // Refused (a kernel before 6.10, or a file opened under other credentials), or
            // new/ itself is gone: the walk tells which.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
    }
    let r = sys::link_followed(format!("/proc/self/fd/{}", file.as_raw_fd()).as_bytes(), to, name);
    if r.is_ok() {
        by_fd.store(false, Ordering::Relaxed);
    }
    r
}

/// Whether /proc/self/fd is there, which linking a nameless file needs.
fn proc_fds() -> bool {
    static THERE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *THERE.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// Creates tmp/NAME exclusively; a clash (another host's clock, a reused pid) tries anew.
fn create_named(folders: &Folders, maildir: &Path) -> Result<(String, File)> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let mut last = io::Error::from_raw_os_error(libc::EEXIST);
    for _ in 0..NAME_TRIES {
        let name = unique::next_name();
        match sys::openat(folders.tmp.as_raw_fd(), name.as_bytes(), flags, 0o600) {
            Ok(fd) => return Ok((name, File::from(fd))),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => last = e,
            Err(e) => return Err(Failure::from_io(&e, &format!("creating tmp/{name} in {}", maildir.display()))),
        }
    }
    Err(Failure::from_io(&last, &format!("no unique name in {}/tmp", maildir.display())))
}
