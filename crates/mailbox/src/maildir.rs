//! Maildir delivery, qmail-local's protocol (qmail.md §6.2) with the modern unique name.
//!
//! Interface: `deliver_maildir(&MaildirDelivery) -> Result<String>`, the name in new/.
//!
//! Steps: open the maildir through safe_path (creating maildir, tmp, new, cur 0700 when
//! missing); create tmp/NAME with O_EXCL (0600; a name clash retries with the next
//! name, three tries); write the header bytes, then copy the body file inside the kernel
//! where possible (std's copy uses copy_file_range/sendfile, else a buffered loop: the
//! body is never held in memory); fsync; close, checked; link tmp/NAME -> new/NAME (the
//! delivery moment); fsync new/; unlink tmp/NAME (best effort, as qmail).
//!
//! Failures: a `..` or symlinked path -> temporary 4.7.0; every OS error -> the errno
//! table (crates/status: all temporary, as qmail, except EFBIG, permanent 5.2.2); bad
//! header bytes (over 64 KiB, not ending in LF) -> temporary 4.3.0 (a caller bug).
//! Guarantees: on any failure the tmp file is removed and nothing stays in new/ (a
//! failure after the link removes new/NAME again, so a reported failure never also
//! delivers; a reader that grabbed it in that instant gets a duplicate later, never a
//! loss). A crash leaves at most a file in tmp/ (readers clean tmp/ after 36 h) or, after
//! the link, a complete message in new/.
//! Departure from qmail: no 24 h alarm; the body is a local queue file of known size.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use status::{Failure, Result};

use crate::fault::{self, Step};
use crate::safe_path::{self, LOOKUP, SYNCABLE};
use crate::{check_headers, open_body, sys, unique};

const NAME_TRIES: usize = 3;

/// One maildir delivery: header bytes (each line ending in LF) then the body file.
pub struct MaildirDelivery<'a> {
    pub maildir: &'a Path,
    pub headers: &'a [u8],
    pub body: &'a Path,
}

/// The open folders of one maildir.
struct Folders {
    tmp: OwnedFd,
    new: OwnedFd,
}

/// Delivers into the maildir; returns the unique name of the file now in new/.
pub fn deliver_maildir(d: &MaildirDelivery) -> Result<String> {
    check_headers(d.headers)?;
    let mut body = open_body(d.body)?;
    let folders = open_folders(d.maildir)?;
    let (name, file) = create_tmp(&folders, d.maildir)?;
    let what = |step: &str| format!("{step} tmp/{name} in {}", d.maildir.display());
    if let Err(f) = write_tmp(file, d.headers, &mut body, &what) {
        let _ = sys::unlinkat(folders.tmp.as_fd(), name.as_bytes());
        return Err(f);
    }
    let published = publish(&folders, &name, d.maildir);
    let _ = sys::unlinkat(folders.tmp.as_fd(), name.as_bytes());
    published.map(|_| name)
}

fn open_folders(maildir: &Path) -> Result<Folders> {
    let root = safe_path::open_dir(maildir)?;
    safe_path::make_dir(&root, OsStr::new("cur"), maildir)?;
    let new = safe_path::open_child(&root, OsStr::new("new"), maildir, SYNCABLE)?;
    let tmp = safe_path::open_child(&root, OsStr::new("tmp"), maildir, LOOKUP)?;
    Ok(Folders { tmp, new })
}

/// Creates tmp/NAME exclusively; a clash (another host's clock, a reused pid) tries anew.
fn create_tmp(folders: &Folders, maildir: &Path) -> Result<(String, File)> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let mut last = io::Error::from_raw_os_error(libc::EEXIST);
    for _ in 0..NAME_TRIES {
        let name = unique::next_name();
        match sys::openat(folders.tmp.as_raw_fd(), name.as_bytes(), flags, 0o600) {
            Ok(fd) => return Ok((name, File::from(fd))),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => last = e,
            Err(e) => return Err(tmp_failure(&e, maildir, &name)),
        }
    }
    Err(Failure::from_io(&last, &format!("no unique name in {}/tmp", maildir.display())))
}

fn tmp_failure(e: &io::Error, maildir: &Path, name: &str) -> Failure {
    Failure::from_io(e, &format!("creating tmp/{name} in {}", maildir.display()))
}

/// Headers, body, fsync, checked close: every step is checked.
fn write_tmp(mut file: File, headers: &[u8], body: &mut File, what: &dyn Fn(&str) -> String) -> Result<()> {
    let fail = |step: &'static str| move |e: io::Error| Failure::from_io(&e, &what(step));
    fault::at(Step::TmpCreated).map_err(fail("creating"))?;
    file.write_all(headers).and_then(|_| fault::at(Step::HeadersWritten)).map_err(fail("writing"))?;
    io::copy(body, &mut file).and_then(|_| fault::at(Step::BodyWritten)).map_err(fail("writing"))?;
    sys::fsync(file.as_fd()).and_then(|_| fault::at(Step::Synced)).map_err(fail("syncing"))?;
    sys::close_checked(file).and_then(|_| fault::at(Step::Closed)).map_err(fail("closing"))
}

/// The link into new/ is the delivery moment; the fsync of new/ makes it durable.
/// A failure after our link removes new/NAME again; a failing link removes nothing
/// there (an EEXIST would be somebody else's file).
fn publish(folders: &Folders, name: &str, maildir: &Path) -> Result<()> {
    let what = |step: &str| format!("{step} new/{name} in {}", maildir.display());
    let (tmp, new) = (folders.tmp.as_fd(), folders.new.as_fd());
    sys::linkat(tmp, name.as_bytes(), new, name.as_bytes()).map_err(|e| Failure::from_io(&e, &what("linking")))?;
    let synced = fault::at(Step::Linked).and_then(|_| sys::fsync(new)).and_then(|_| fault::at(Step::NewSynced));
    synced.map_err(|e| {
        let _ = sys::unlinkat(new, name.as_bytes());
        Failure::from_io(&e, &what("syncing"))
    })
}
