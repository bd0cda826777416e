//! A recipient delivered at accept time: the maildirs of its dot-qmail (or its default
//! ./Maildir/), written as qmail-local writes them: the file durable in tmp/, linked into
//! new/, new/ durable. `Durability` says how: one syncfs of the filesystem for each of the
//! two steps, shared by every write in flight there (fssync.rs), or qmail-local's fsync of
//! the file and of new/ (that one shared with the other writers of the same maildir:
//! crates/groupsync).
//!
//! Interface: `Target` (what routing decided), `looping` (the Delivered-To loop check of
//! qmail-local, run before anything is written), `deliver` (all of a target's maildirs).
//! A target's file is its `prefix` (Return-Path and Delivered-To), the message's common
//! header lines (Received, ...), then the message.
//!
//! Failures: the mailbox writer's (all temporary but EFBIG); a target with several maildirs
//! is all or nothing: every file is written and fsync'd in tmp/ before the first link, and
//! a failure after a link takes the linked files back out of new/, so a failed target can
//! go to the queue without being delivered twice (a reader that grabbed a file in that
//! instant gets a duplicate, never a loss).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use groupsync::Registry;
use mailbox::Staged;
use status::{Failure, Result};

use crate::fssync::{self, Filesystem};
use crate::message::MessageReader;

/// Where and how one recipient is written.
#[derive(Clone, Debug)]
pub struct Target {
    /// Maildir folders (absolute), in dot-qmail order.
    pub maildirs: Vec<PathBuf>,
    /// "Return-Path: <...>\nDelivered-To: ...\n".
    pub prefix: Vec<u8>,
    /// The Delivered-To line without its LF: the message loops if its header has it.
    pub dtline: Vec<u8>,
}

/// How a direct write is made durable (control/directsync).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// syncfs of the filesystem, shared by every write in flight on it.
    #[default]
    Filesystem,
    /// fsync of the file, then of new/ (qmail-local's way).
    EachFile,
}

/// True when the message's header already holds `t`'s Delivered-To line (qmail-local:
/// "This message is looping: it already has my Delivered-To line.").
pub fn looping(head: &[u8], t: &Target) -> bool {
    header_lines(head).any(|line| line == t.dtline.as_slice())
}

/// The lines of the header (up to the first empty line), without their LF.
fn header_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n').take_while(|line| !line.is_empty())
}

/// Every new/ folder's group sync, shared by all sessions of the process.
fn new_dirs() -> &'static Registry {
    static NEW_DIRS: OnceLock<Registry> = OnceLock::new();
    NEW_DIRS.get_or_init(Registry::default)
}

/// Writes `t`'s maildirs, made durable as `d` says; `done` gets the files now durable in
/// new/ (called here, or on the filesystem's sync thread). `msg` is read once per maildir
/// (each read starts where a fresh reader does).
pub fn deliver(t: &Target, d: Durability, header: &[u8], msg: &mut MessageReader<'_>, done: impl FnOnce(Result<Vec<PathBuf>>) + Send + 'static) {
    match d {
        Durability::EachFile => {
            let mut staged = Vec::new();
            done(deliver_fsync(t, header, msg, &mut staged));
            // The tmp/ names go here, after the answer (dropping a Staged unlinks its name).
        }
        Durability::Filesystem => deliver_syncfs(t, header, msg, done),
    }
}

/// Every maildir's tmp/ file, written, then handed to `sync`.
fn stage_all(t: &Target, header: &[u8], msg: &mut MessageReader<'_>, mut sync: impl FnMut(BorrowedFd) -> io::Result<()>) -> Result<Vec<Staged>> {
    let mut staged = Vec::with_capacity(t.maildirs.len());
    for md in &t.maildirs {
        let write = |f: &mut std::fs::File| write_content(f, t, header, &mut msg.fresh());
        staged.push(mailbox::stage(md, write, &mut sync)?);
    }
    Ok(staged)
}

/// qmail-local's way: each file fsync'd, linked, each new/ fsync'd (shared with the other
/// writers of that maildir).
fn deliver_fsync(t: &Target, header: &[u8], msg: &mut MessageReader<'_>, staged: &mut Vec<Staged>) -> Result<Vec<PathBuf>> {
    *staged = stage_all(t, header, msg, fsync)?;
    let r = link_all(staged).and_then(|()| {
        staged.iter_mut().try_for_each(|s| {
            let sync = new_dirs().get(&s.new_dir());
            s.sync_new(|fd| sync.sync(|_| fsync(fd)))
        })
    });
    settle(staged, r)
}

/// The files written here; their filesystems' sync threads make them durable, link them,
/// make the links durable and call `done`, without a thread waiting meanwhile.
fn deliver_syncfs(t: &Target, header: &[u8], msg: &mut MessageReader<'_>, done: impl FnOnce(Result<Vec<PathBuf>>) + Send + 'static) {
    let mut filesystems: Vec<Arc<Filesystem>> = Vec::new();
    let staged = stage_all(t, header, msg, |fd| {
        let fs = fssync::of(fd)?;
        if !filesystems.iter().any(|f| Arc::ptr_eq(f, &fs)) {
            filesystems.push(fs);
        }
        Ok(())
    });
    let mut staged = match staged {
        Ok(s) => s,
        Err(f) => return done(Err(f)),
    };
    let all = filesystems.clone();
    fssync::after_all(&filesystems, move |synced| {
        let linked = synced.map_err(|e| Failure::from_io(&e, &format!("syncing tmp/ of {}", maildirs(&staged)))).and_then(|()| link_all(&mut staged));
        if let Err(f) = linked {
            return done(settle(&mut staged, Err(f)));
        }
        fssync::after_all(&all, move |synced| {
            let r = staged.iter_mut().try_for_each(|s| s.sync_new(|_| fssync::again(&synced)));
            done(settle(&mut staged, r));
            // The tmp/ names go here, after the answer.
        });
    });
}

fn maildirs(staged: &[Staged]) -> String {
    staged.iter().map(|s| s.new_dir().parent().unwrap_or(Path::new("/")).display().to_string()).collect::<Vec<_>>().join(", ")
}

fn link_all(staged: &mut [Staged]) -> Result<()> {
    staged.iter_mut().try_for_each(Staged::link)
}

/// The delivered files, or on failure none: every linked file is taken back out of new/.
fn settle(staged: &mut [Staged], r: Result<()>) -> Result<Vec<PathBuf>> {
    if let Err(f) = r {
        staged.iter_mut().for_each(Staged::unlink_new);
        return Err(f);
    }
    Ok(staged.iter().map(|s| s.new_dir().join(s.name())).collect())
}

/// The lines, the header and the body through one buffer: a usual message is one write
/// (three system calls before, each a pass through the filesystem's write path). The
/// buffer is no larger than the content: allocating and freeing 64 KiB for a 4 KiB message
/// made the allocator consolidate its fast bins each time.
fn write_content(f: &mut std::fs::File, t: &Target, header: &[u8], msg: &mut MessageReader<'_>) -> io::Result<()> {
    let whole = (t.prefix.len() + header.len()).saturating_add(usize::try_from(msg.at_most()).unwrap_or(usize::MAX));
    let mut w = io::BufWriter::with_capacity(whole.min(WRITE_BUFFER), f);
    w.write_all(&t.prefix)?;
    w.write_all(header)?;
    io::copy(msg, &mut w)?;
    w.flush()
}

const WRITE_BUFFER: usize = 64 * 1024;

fn fsync(fd: BorrowedFd) -> io::Result<()> {
    if unsafe { libc::fsync(fd.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dtline: &str) -> Target {
        Target { maildirs: vec![], prefix: vec![], dtline: dtline.as_bytes().to_vec() }
    }

    #[test]
    fn a_header_with_our_delivered_to_line_loops() {
        let t = target("Delivered-To: joe@example.com");
        assert!(looping(b"Received: x\nDelivered-To: joe@example.com\nSubject: y\n\nbody\n", &t));
        assert!(!looping(b"Delivered-To: joe@example.org\n\nDelivered-To: joe@example.com\n", &t));
        assert!(!looping(b"Delivered-To: joe@example.com.evil\n\n", &t));
        assert!(looping(b"Delivered-To: joe@example.com", &t), "a header cut short still counts");
    }
}
