//! The disk's raw limits for the benchmarks: the system calls qmta's promise needs, without
//! qmta. Each of `threads` threads repeats, for its share of `count` messages, one of:
//!
//! - `RawLoop::Add`, one queue add (bench/queue.ts): create+write+fsync a body file,
//!   create+write+fsync an envelope file, link the envelope into a third directory, fsync
//!   that directory. No group commit: every add pays its own directory fsync.
//! - `RawLoop::Accept`, the least disk work the promise asks before a 250 (bench/floor.ts):
//!   the add above, its body's directory fsync'd too, with the directory fsyncs shared by
//!   concurrent messages (group commit, dirsync.rs).
//! - `RawLoop::Message`, the least disk work a message from SMTP to a maildir needs: Accept,
//!   then the maildir write (create+write+fsync in tmp/, link into new/, unlink the tmp/
//!   name, new/ fsync'd, shared), then the queue files unlinked (no fsync).
//!
//! Accept and Message have no buckets, no spare files, no reads: a floor, not a model of
//! the queue.
//!
//! The benchmarks print these next to their own figures (qmta's queue, the sink, Postfix), at
//! the same concurrency, in the same run. File names are unique per call, so a folder can be reused (a steady-state
//! measurement).
//!
//! Failures: any I/O error → temporary (errno table). The loops leave their files (the add
//! and accept loops every queue file, the message loop every maildir file) in `dir` for the
//! caller to remove.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use status::{Failure, Result};

use crate::dirsync::DirSync;
use crate::layout::sync_dir;

/// What each iteration does (see the module comment).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RawLoop {
    Add,
    Accept,
    Message,
}

const ENVELOPE: &[u8] = b"u0\0p0\0Fa@b\0Tc@d\0\0";

/// The loop's folders, and the shared directory syncs of the accept and message loops.
struct Folders {
    mess: PathBuf,
    intd: PathBuf,
    todo: PathBuf,
    tmp: PathBuf,
    new: PathBuf,
    mess_sync: DirSync,
    todo_sync: DirSync,
    new_sync: DirSync,
}

impl Folders {
    fn create(dir: &Path) -> std::io::Result<Folders> {
        let [mess, intd, todo, tmp, new] = ["mess", "intd", "todo", "Maildir/tmp", "Maildir/new"].map(|d| dir.join(d));
        [&mess, &intd, &todo, &tmp, &new].into_iter().try_for_each(fs::create_dir_all)?;
        let [mess_sync, todo_sync, new_sync] = [&mess, &todo, &new].map(|d| DirSync::new(d.clone()));
        Ok(Folders { mess, intd, todo, tmp, new, mess_sync, todo_sync, new_sync })
    }
}

/// Runs the loop in `dir` (created if missing) and returns the wall time it took.
pub fn raw_loop(kind: RawLoop, dir: &Path, count: usize, threads: usize, body_size: usize) -> Result<Duration> {
    let io = |e: std::io::Error| Failure::from_io(&e, "raw loop");
    let folders = Folders::create(dir).map_err(io)?;
    let threads = threads.max(1);
    let body = vec![b'x'; body_size];
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let one = |name: &str| match kind {
        RawLoop::Add => one_add(&folders, name, &body),
        RawLoop::Accept => one_accept(&folders, name, &body),
        RawLoop::Message => one_message(&folders, name, &body),
    };
    let start = Instant::now();
    let results: Vec<std::io::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                let share = (t..count).step_by(threads);
                s.spawn(move || share.into_iter().try_for_each(|i| one(&format!("{call}-{t}-{i}"))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(std::io::Error::other("raw loop thread panicked")))).collect()
    });
    results.into_iter().collect::<std::io::Result<()>>().map_err(io)?;
    Ok(start.elapsed())
}

fn one_add(f: &Folders, name: &str, body: &[u8]) -> std::io::Result<()> {
    write_synced(&f.mess.join(name), body)?;
    write_synced(&f.intd.join(name), ENVELOPE)?;
    fs::hard_link(f.intd.join(name), f.todo.join(name))?;
    File::open(&f.todo)?.sync_all()
}

fn one_accept(f: &Folders, name: &str, body: &[u8]) -> std::io::Result<()> {
    write_synced(&f.mess.join(name), body)?;
    write_synced(&f.intd.join(name), ENVELOPE)?;
    f.mess_sync.sync(sync_dir)?;
    fs::hard_link(f.intd.join(name), f.todo.join(name))?;
    f.todo_sync.sync(sync_dir) // where the 250 may go out
}

fn one_message(f: &Folders, name: &str, body: &[u8]) -> std::io::Result<()> {
    one_accept(f, name, body)?;
    let tmp = f.tmp.join(name);
    write_synced(&tmp, body)?;
    fs::hard_link(&tmp, f.new.join(name))?;
    fs::remove_file(&tmp)?;
    f.new_sync.sync(sync_dir)?; // where the delivery is done
    [&f.todo, &f.intd, &f.mess].into_iter().try_for_each(|d| fs::remove_file(d.join(name)))
}

fn write_synced(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(p)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(d: &Path) -> usize {
        fs::read_dir(d).unwrap().count()
    }

    #[test]
    fn the_message_loop_leaves_each_message_in_new_only() {
        let dir = std::env::temp_dir().join(format!("qmta-rawloop-msg-{}", std::process::id()));
        raw_loop(RawLoop::Message, &dir, 25, 4, 100).unwrap();
        assert_eq!(entries(&dir.join("Maildir/new")), 25);
        for d in ["mess", "intd", "todo", "Maildir/tmp"] {
            assert_eq!(entries(&dir.join(d)), 0, "{d}");
        }
        let one = fs::read_dir(dir.join("Maildir/new")).unwrap().next().unwrap().unwrap().path();
        assert_eq!(fs::read(one).unwrap(), vec![b'x'; 100]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_add_and_accept_loops_leave_each_message_queued() {
        for kind in [RawLoop::Add, RawLoop::Accept] {
            let dir = std::env::temp_dir().join(format!("qmta-rawloop-{kind:?}-{}", std::process::id()));
            raw_loop(kind, &dir, 10, 3, 100).unwrap();
            for d in ["mess", "intd", "todo"] {
                assert_eq!(entries(&dir.join(d)), 10, "{kind:?} {d}");
            }
            assert_eq!(entries(&dir.join("Maildir/new")), 0);
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_a_failure() {
        let r = raw_loop(RawLoop::Message, Path::new("/proc/qmta-rawloop"), 1, 1, 1);
        assert!(r.is_err());
    }
}
