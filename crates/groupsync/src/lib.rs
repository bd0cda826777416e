//! Group commit of directory fsyncs (README.md).
//!
//! Every commit of an entry into a directory ends with "fsync the directory after my
//! link". When many commits run at once on different threads, one fsync started after all
//! their links covers them all: a caller registers its request (a ticket), and either finds
//! that a sync which started after its ticket has completed, or runs one itself covering
//! every ticket issued so far, while later callers wait for it and then for the next one.
//! That is the classic group commit of a log flush, applied per directory (`DirSync`).
//!
//! Guarantee: `sync` returns Ok only after an fsync of the directory that *started after*
//! the call began, so every entry change the caller made before calling is durable.
//! Failure: the fsync's I/O error, returned to the caller whose own sync failed (waiters
//! of a failed sync retry with their own fsync, so each gets its own answer).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};

#[derive(Default)]
struct State {
    issued: u64,
    synced: u64,
    running: bool,
}

/// The group commit itself: many callers share one run of a sync operation (DirSync's fsync).
#[derive(Default)]
struct GroupSync {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupSync {
    /// Returns once a run of `op` that started after this call has completed (run here, or
    /// by another caller).
    fn sync(&self, op: impl Fn() -> io::Result<()>) -> io::Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.issued += 1;
        let ticket = s.issued;
        loop {
            if s.synced >= ticket {
                return Ok(());
            }
            if s.running {
                s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            s.running = true;
            let covers = s.issued;
            drop(s);
            let r = op();
            s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.running = false;
            self.done.notify_all();
            r?;
            s.synced = s.synced.max(covers);
        }
    }
}

/// One directory's group-sync state.
pub struct DirSync {
    path: PathBuf,
    group: GroupSync,
}

impl DirSync {
    pub fn new(path: PathBuf) -> DirSync {
        DirSync { path, group: GroupSync::default() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every entry change made so far in the directory durable: returns once an
    /// fsync that started after this call has completed (run here with `fsync`, or by
    /// another caller).
    pub fn sync(&self, fsync: impl Fn(&Path) -> io::Result<()>) -> io::Result<()> {
        self.group.sync(|| fsync(&self.path))
    }
}

/// Opens a directory and fsyncs it.
pub fn fsync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// `DirSync`s by path, shared by every user in the process; an entry lives as long as
/// someone holds it.
#[derive(Default)]
pub struct Registry {
    dirs: Mutex<HashMap<PathBuf, Weak<DirSync>>>,
}

impl Registry {
    /// The shared state of `path` (the same path string gives the same state).
    pub fn get(&self, path: &Path) -> Arc<DirSync> {
        let mut dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = dirs.get(path).and_then(Weak::upgrade) {
            return d;
        }
        // Dead entries are swept when the map has doubled since the last sweep's survivors,
        // so the map stays proportional to the directories in use.
        if dirs.len() >= 64 && dirs.len().is_power_of_two() {
            dirs.retain(|_, w| w.strong_count() > 0);
        }
        let d = Arc::new(DirSync::new(path.to_path_buf()));
        dirs.insert(path.to_path_buf(), Arc::downgrade(&d));
        d
    }

    /// Entries in the map, live or not yet swept (tests).
    pub fn len(&self) -> usize {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qmta-groupsync-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn concurrent_syncs_share_fsyncs() {
        let dir = temp("share");
        let sync = Arc::new(DirSync::new(dir.clone()));
        let count = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (s, c) = (sync.clone(), count.clone());
                std::thread::spawn(move || {
                    (0..20).try_for_each(|_| s.sync(|p| {
                        c.fetch_add(1, Ordering::Relaxed);
                        fsync_dir(p)
                    }))
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap().unwrap());
        let n = count.load(Ordering::Relaxed);
        assert!((1..640).contains(&n), "{n} fsyncs for 640 requests");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sync_always_runs_after_the_call() {
        // A lone caller runs its own fsync, even right after another completed.
        let dir = temp("after");
        let sync = DirSync::new(dir.clone());
        let count = AtomicU64::new(0);
        for _ in 0..3 {
            sync.sync(|p| {
                count.fetch_add(1, Ordering::Relaxed);
                fsync_dir(p)
            })
            .unwrap();
        }
        assert_eq!(count.load(Ordering::Relaxed), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let sync = DirSync::new(PathBuf::from("/nonexistent/qmta-groupsync"));
        assert!(sync.sync(fsync_dir).is_err());
    }

    #[test]
    fn the_registry_shares_live_entries_and_forgets_dead_ones() {
        let reg = Registry::default();
        let a = reg.get(Path::new("/x/new"));
        let b = reg.get(Path::new("/x/new"));
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        for i in 0..200 {
            drop(reg.get(&PathBuf::from(format!("/d{i}/new"))));
        }
        assert!(reg.len() < 200, "{} entries kept for 200 dead directories", reg.len());
    }
}
