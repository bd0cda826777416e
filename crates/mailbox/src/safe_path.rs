//! Resolves a mailbox path so that no directory on the way can be a symbolic link and no
//! `..` can climb out of it: in one openat2(RESOLVE_NO_SYMLINKS), else (no openat2, or it
//! failed) one component at a time with openat(O_NOFOLLOW), which names what stopped it.
//!
//! Interface: `open_dir` (a maildir, created 0700 when missing), `open_parent` (the
//! folder of an mbox plus its file name), `open_child` (tmp/ new/ cur/ inside a maildir).
//! The descriptors returned are what the writers use afterwards (openat, linkat...), so
//! the checked path is never looked up again by name: no check-then-use race.
//!
//! Failures: a `..` component, an empty path, or a symlink anywhere on the way ->
//! temporary 4.7.0 with the offending part named (policy: an admin must fix the path;
//! temporary because unknown means temporary and the mail must not be lost); any other
//! errno -> the status crate's errno table.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use status::{Failure, Result};

use crate::sys;

const DIR_FLAGS: libc::c_int = libc::O_DIRECTORY | libc::O_NOFOLLOW;

/// A directory descriptor good only for *at() lookups (no read permission needed).
pub const LOOKUP: libc::c_int = libc::O_PATH;
/// A directory descriptor that can also be fsync'd.
pub const SYNCABLE: libc::c_int = libc::O_RDONLY;

/// The 4.7.0 refusal of a mailbox path, with the reason.
pub fn refuse(path: &Path, why: &str) -> Failure {
    Failure::temp("7.0", format!("refusing mailbox path {}: {why}", path.display()))
}

/// The path's components after the root; `..` and an empty path are refused.
fn components(path: &Path) -> Result<(bool, Vec<&OsStr>)> {
    let mut absolute = false;
    let mut names = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir => absolute = true,
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err(refuse(path, "it contains a .. component")),
            Component::Normal(n) => names.push(n),
        }
    }
    if names.is_empty() {
        return Err(refuse(path, "it names no file or folder below the root"));
    }
    Ok((absolute, names))
}

/// Turns an open error on `name` into a Failure, naming a symlink when that is the cause.
fn explain(dir: &OwnedFd, name: &OsStr, path: &Path, err: io::Error) -> Failure {
    let maybe_link = matches!(err.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR));
    if maybe_link && sys::lstatat(dir.as_raw_fd(), name.as_bytes()).is_ok_and(|st| sys::is_symlink(&st)) {
        let part = name.to_string_lossy();
        return refuse(path, &format!("{part} is a symbolic link"));
    }
    Failure::from_io(&err, &format!("opening {}", path.display()))
}

/// Opens `name` inside `dir` as a directory, never following a symlink.
fn step(dir: &OwnedFd, name: &OsStr, path: &Path, flags: libc::c_int) -> Result<OwnedFd> {
    sys::openat(dir.as_raw_fd(), name.as_bytes(), flags | DIR_FLAGS, 0).map_err(|e| explain(dir, name, path, e))
}

/// Walks from `/` (or the current folder) down through `names`.
fn walk(path: &Path, absolute: bool, names: &[&OsStr]) -> Result<OwnedFd> {
    if let Some(dir) = resolve(absolute, names) {
        return Ok(dir);
    }
    let start: &[u8] = if absolute { b"/" } else { b"." };
    let mut dir = sys::openat(libc::AT_FDCWD, start, LOOKUP | libc::O_DIRECTORY, 0)
        .map_err(|e| Failure::from_io(&e, &format!("opening {}", path.display())))?;
    for name in names {
        dir = step(&dir, name, path, LOOKUP)?;
    }
    Ok(dir)
}

/// The whole walk in one openat2 that refuses a symlink anywhere on the way (one system
/// call instead of one open and one close a component, for every delivery). None when it
/// fails for any reason (no openat2 here, a symlink, a missing folder): the walk then
/// takes the same steps one at a time and names what stopped it.
fn resolve(absolute: bool, names: &[&OsStr]) -> Option<OwnedFd> {
    let mut joined: Vec<u8> = if absolute { b"/".to_vec() } else { b"./".to_vec() };
    for name in names {
        joined.extend_from_slice(name.as_bytes());
        joined.push(b'/');
    }
    sys::open_no_symlinks(&joined, LOOKUP | DIR_FLAGS).ok()
}

/// Opens the directory `path`, creating its last component (mode 0700) when missing.
pub fn open_dir(path: &Path) -> Result<OwnedFd> {
    let (absolute, names) = components(path)?;
    let (last, parents) = names.split_last().expect("components() refuses an empty path");
    let parent = walk(path, absolute, parents)?;
    open_child(&parent, last, path, LOOKUP)
}

/// Opens the folder holding the file `path`; returns it with the file's name.
pub fn open_parent(path: &Path) -> Result<(OwnedFd, Vec<u8>)> {
    let (absolute, names) = components(path)?;
    let (last, parents) = names.split_last().expect("components() refuses an empty path");
    Ok((walk(path, absolute, parents)?, last.as_bytes().to_vec()))
}

/// Opens the directory `name` inside `dir`, creating it (0700) when missing.
pub fn open_child(dir: &OwnedFd, name: &OsStr, path: &Path, flags: libc::c_int) -> Result<OwnedFd> {
    match sys::openat(dir.as_raw_fd(), name.as_bytes(), flags | DIR_FLAGS, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            make_dir(dir, name, path)?;
            step(dir, name, path, flags)
        }
        other => other.map_err(|e| explain(dir, name, path, e)),
    }
}

/// mkdirat 0700, where a folder that appeared meanwhile is fine.
pub fn make_dir(dir: &OwnedFd, name: &OsStr, path: &Path) -> Result<()> {
    match sys::mkdirat(dir.as_fd(), name.as_bytes(), 0o700) {
        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
            let what = format!("creating {}/{}", path.display(), name.to_string_lossy());
            Err(Failure::from_io(&e, &what))
        }
        _ => Ok(()),
    }
}

/// Explains an error from opening the file `name` in `dir` (a symlink is named as such).
pub fn explain_file(dir: &OwnedFd, name: &[u8], path: &Path, err: io::Error) -> Failure {
    explain(dir, OsStr::from_bytes(name), path, err)
}
