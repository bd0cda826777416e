//! A private, unnamed copy of a message the process was handed as a descriptor.
//! A delivery run as a mailbox owner gets the queue's message file as its stdin, a file
//! it may not open by name (it belongs to the qmta account); the mailbox writers and
//! programs open the body by path, so the owner first copies it into a file of its own
//! that has no name (O_TMPFILE), reachable as /proc/self/fd/N.

use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, IntoRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Copies everything readable from `src` (from its start) into a new unnamed file in
/// `dir` (mode 0600); returns the new file's descriptor, positioned at its start.
pub fn private_copy(src: RawFd, dir: &Path) -> io::Result<RawFd> {
    let mut out = File::options().read(true).write(true).mode(0o600).custom_flags(libc::O_TMPFILE).open(dir)?;
    let borrowed = unsafe { BorrowedFd::borrow_raw(src) };
    let mut input = File::from(borrowed.try_clone_to_owned()?);
    io::Seek::seek(&mut input, io::SeekFrom::Start(0))?;
    io::copy(&mut input, &mut out)?;
    io::Seek::seek(&mut out, io::SeekFrom::Start(0))?;
    Ok(out.into_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_copy_is_whole_and_reachable_through_proc() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("privilege-copy-{}", std::process::id()));
        std::fs::write(&path, "Subject: x\n\nbody\n").unwrap();
        let orig = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let copy = private_copy(orig.as_raw_fd(), &dir).unwrap();
        let mut text = String::new();
        File::open(format!("/proc/self/fd/{copy}")).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "Subject: x\n\nbody\n");
        unsafe { libc::close(copy) };
    }
}
