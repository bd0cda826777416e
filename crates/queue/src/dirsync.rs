//! Group commit of the queue's directory fsyncs (crates/groupsync does the batching).
//!
//! Every commit ends with "fsync the todo subdirectory after my link"; concurrent commits
//! share that fsync. Every `Queue` opened on the same root in one process (the SMTP
//! sessions', the TS wrapper's, an injector's) shares one `DirSyncs` (`for_root`), so their
//! commits batch together.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

pub(crate) use groupsync::DirSync;

use crate::id::BUCKETS;
use crate::layout::{sync_dir, Folder, Layout};
use crate::spare::Spares;

/// Group-sync state for every bucket of every folder, plus a count of fsyncs run.
pub struct DirSyncs {
    dirs: Vec<DirSync>,
    fsyncs: AtomicU64,
    /// The root's spare files, shared by the same queues for the same reason (spare.rs).
    pub(crate) spares: Spares,
}

/// Open roots and their shared state; entries die with the last queue of a root.
static ROOTS: OnceLock<Mutex<HashMap<PathBuf, Weak<DirSyncs>>>> = OnceLock::new();

impl DirSyncs {
    /// The group-sync state of the queue at `layout`'s root, shared within the process.
    pub fn for_root(layout: &Layout) -> Arc<DirSyncs> {
        let key = std::fs::canonicalize(layout.root()).unwrap_or_else(|_| layout.root().to_path_buf());
        let mut roots = ROOTS.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
        roots.retain(|_, w| w.strong_count() > 0);
        if let Some(s) = roots.get(&key).and_then(Weak::upgrade) {
            return s;
        }
        let s = Arc::new(DirSyncs::new(layout));
        roots.insert(key, Arc::downgrade(&s));
        s
    }

    fn new(layout: &Layout) -> Self {
        let dirs = Folder::ALL
            .iter()
            .flat_map(|f| (0..BUCKETS).map(move |b| (*f, b)))
            .map(|(f, b)| DirSync::new(layout.bucket_dir(f, b)))
            .collect();
        DirSyncs { dirs, fsyncs: AtomicU64::new(0), spares: Spares::new(layout.root()) }
    }

    /// Makes every entry change made so far in `folder/bucket` durable, sharing the fsync.
    pub fn sync(&self, folder: Folder, bucket: u64) -> io::Result<()> {
        self.dirs[folder.index() * BUCKETS as usize + bucket as usize].sync(|p| self.fsync(p))
    }

    fn fsync(&self, path: &Path) -> io::Result<()> {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        sync_dir(path)
    }

    /// Directory fsyncs actually run (for tests and the benchmark).
    pub fn count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn concurrent_syncs_share_fsyncs() {
        let dir = std::env::temp_dir().join(format!("qmta-dirsync-{}", std::process::id()));
        let layout = Layout::new(&dir);
        layout.ensure().unwrap();
        let syncs = DirSyncs::for_root(&layout);
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let s = syncs.clone();
                std::thread::spawn(move || (0..20).try_for_each(|_| s.sync(Folder::Todo, 3)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap().unwrap());
        assert!(syncs.count() < 640, "{} fsyncs for 640 requests", syncs.count());
        assert!(syncs.count() >= 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let layout = Layout::new(Path::new("/nonexistent/qmta-queue"));
        let syncs = DirSyncs::new(&layout);
        assert!(syncs.sync(Folder::Todo, 0).is_err());
    }

    #[test]
    fn queues_on_one_root_share_their_state() {
        let dir = std::env::temp_dir().join(format!("qmta-dirsync-share-{}", std::process::id()));
        let layout = Layout::new(&dir);
        layout.ensure().unwrap();
        let a = DirSyncs::for_root(&layout);
        let b = DirSyncs::for_root(&Layout::new(&dir.join(".")));
        assert!(Arc::ptr_eq(&a, &b));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
