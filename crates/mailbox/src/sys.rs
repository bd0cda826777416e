//! Thin checked wrappers over the *at() system calls the writers use.
//!
//! Everything is relative to a directory descriptor so that a path is resolved once,
//! symlink-checked once (safe_path.rs), and never looked up again by name from `/`.
//! Failures are plain `io::Error`s; callers turn them into `Failure`s with context.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// A C string for a single path component or a whole path; NUL inside is refused.
pub fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// openat(2), returning an owned descriptor.
pub fn openat(dir: RawFd, name: &[u8], flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let fd = cvt(unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// openat2(2) from the current folder with RESOLVE_NO_SYMLINKS: `path` is opened only if
/// none of its components is a symbolic link. Fails with ENOSYS (or EPERM under some
/// seccomp filters) where openat2 is missing: callers then take the path a step at a time.
pub fn open_no_symlinks(path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: open_how is plain data; all-zero is its valid empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_NO_SYMLINKS;
    // SAFETY: c is a valid NUL-terminated path and how a valid open_how of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_openat2, libc::AT_FDCWD, c.as_ptr(), &how as *const libc::open_how, std::mem::size_of::<libc::open_how>()) };
    let fd = cvt(libc::c_int::try_from(r).unwrap_or(-1))?;
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// mkdirat(2).
pub fn mkdirat(dir: BorrowedFd, name: &[u8], mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(name)?;
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) }).map(drop)
}

/// linkat(2) without following symlinks.
pub fn linkat(from: BorrowedFd, old: &[u8], to: BorrowedFd, new: &[u8]) -> io::Result<()> {
    let (o, n) = (cstr(old)?, cstr(new)?);
    cvt(unsafe { libc::linkat(from.as_raw_fd(), o.as_ptr(), to.as_raw_fd(), n.as_ptr(), 0) }).map(drop)
}

/// linkat(2) of `path` (a /proc/self/fd link to an O_TMPFILE file) followed to its file.
pub fn link_followed(path: &[u8], to: BorrowedFd, new: &[u8]) -> io::Result<()> {
    let (o, n) = (cstr(path)?, cstr(new)?);
    cvt(unsafe { libc::linkat(libc::AT_FDCWD, o.as_ptr(), to.as_raw_fd(), n.as_ptr(), libc::AT_SYMLINK_FOLLOW) }).map(drop)
}

/// linkat(2) of the open file `file` itself (AT_EMPTY_PATH): Linux 6.10 on allows it for
/// the credentials that opened the file; before, only with CAP_DAC_READ_SEARCH (ENOENT).
pub fn link_open(file: BorrowedFd, to: BorrowedFd, new: &[u8]) -> io::Result<()> {
    let n = cstr(new)?;
    cvt(unsafe { libc::linkat(file.as_raw_fd(), c"".as_ptr(), to.as_raw_fd(), n.as_ptr(), libc::AT_EMPTY_PATH) }).map(drop)
}

/// unlinkat(2) of a file.
pub fn unlinkat(dir: BorrowedFd, name: &[u8]) -> io::Result<()> {
    let c = cstr(name)?;
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

/// fstatat(2) without following a final symlink.
pub fn lstatat(dir: RawFd, name: &[u8]) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

/// fstat(2).
pub fn fstat(fd: BorrowedFd) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// fsync(2) of any descriptor, directories included.
pub fn fsync(fd: BorrowedFd) -> io::Result<()> {
    cvt(unsafe { libc::fsync(fd.as_raw_fd()) }).map(drop)
}

/// close(2) with its result checked: NFS reports write errors there (qmail checks it too).
pub fn close_checked(file: File) -> io::Result<()> {
    cvt(unsafe { libc::close(file.into_raw_fd()) }).map(drop)
}

/// True when the stat describes a symbolic link.
pub fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// True when the stat describes a regular file.
pub fn is_regular(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFREG
}
