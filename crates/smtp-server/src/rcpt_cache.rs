//! RCPT answers the core gives again itself. When the policy side plans a local recipient
//! for delivery at accept time, it may send with the answer the files its plan read (the
//! home directory, the dot-qmail candidates, the .qmail file used), each with its stat
//! signature. The next RCPT of that recipient from that sender, in a session of the same
//! rules generation, is answered here while every one of those files still stats the same:
//! a few stat(2) calls on the session's thread instead of a round trip through the event
//! loop.
//! Why: that round trip was a message's longest wait after its two syncs, and the event
//! loop's largest task (README, "Benchmarks").
//!
//! Interface: `RcptCache::answer(generation, sender, address)` -> the reply and target to
//! give again; `keep(...)` stores an answer that came with guards; `clear()` (new rules).
//! Guarantee: any difference in a guard's signature, or a stat error other than "missing",
//! is a miss (a file that was missing in a folder whose own guard holds is still missing:
//! it is not stat'ed again), and the policy side is asked (and its answer replaces the
//! entry). The policy side sends guards only for answers no hook and nothing about the
//! session decided, and not while a guard changed within the timestamps' granularity (two
//! changes within it could leave the same signature; ts/local/dot-qmail-fs.ts).
//! Bounds: at most CAPACITY entries; a full cache is emptied.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use accept::Target;
use smtp_proto::Reply;

const CAPACITY: usize = 4096;

/// A file a plan read, and what stat(2) said of it then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    pub path: String,
    /// `signature`'s form; "" when the path did not exist.
    pub seen: String,
}

struct Entry {
    generation: u64,
    reply: Reply,
    target: Target,
    guards: Vec<Guard>,
}

type Key = (String, String);

#[derive(Default)]
pub(crate) struct RcptCache {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

impl RcptCache {
    /// The answer kept for `address` from `sender`, if its guards still hold.
    pub(crate) fn answer(&self, generation: u64, sender: &str, address: &str) -> Option<(Reply, Target)> {
        let e = self.lock().get(&(sender.to_string(), address.to_string()))?.clone();
        // The stats run outside the lock: other sessions' lookups do not wait for them.
        let holds = e.generation == generation && hold(&e.guards);
        holds.then(|| (e.reply.clone(), e.target.clone()))
    }

    pub(crate) fn keep(&self, generation: u64, sender: &str, address: &str, reply: Reply, target: Target, guards: Vec<Guard>) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert((sender.to_string(), address.to_string()), Arc::new(Entry { generation, reply, target, guards }));
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether every guard stats as it did. A path that was missing is not stat'ed again when
/// its folder is a guard that holds: adding an entry to a folder changes the folder's
/// mtime and ctime (a plan's dot-qmail candidates are mostly missing files in the home
/// folder, its guard too: one stat instead of four a message).
fn hold(guards: &[Guard]) -> bool {
    let same = |g: &Guard| signature(&g.path).is_ok_and(|now| now == g.seen);
    let missing = |g: &&Guard| g.seen.is_empty();
    // Once the files that existed all hold, each of them is a held folder candidate.
    guards.iter().filter(|g| !missing(g)).all(same) && guards.iter().filter(missing).all(|g| in_held_folder(g, guards) || same(g))
}

/// `g`'s folder is one of `guards` that existed (and, checked first, holds).
fn in_held_folder(g: &Guard, guards: &[Guard]) -> bool {
    Path::new(&g.path).parent().is_some_and(|folder| guards.iter().any(|d| !d.seen.is_empty() && Path::new(&d.path) == folder))
}

/// "dev:ino:mode:size:mtime_ns:ctime_ns" of `path` (symlinks followed, as the planner's
/// stat), "" when missing as qmail-local counts it (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG).
pub fn signature(path: &str) -> io::Result<String> {
    match std::fs::metadata(path) {
        Ok(m) => {
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Ok(format!("{}:{}:{}:{}:{}:{}", m.dev(), m.ino(), m.mode(), m.size(), ns(m.mtime(), m.mtime_nsec()), ns(m.ctime(), m.ctime_nsec())))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG)) => Ok(String::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A fresh directory with home/ in it, removed at the end of the test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let p = std::env::temp_dir().join(format!("qmta-rcpt-cache-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("home")).unwrap();
            Scratch(p)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn target() -> Target {
        Target { maildirs: vec![PathBuf::from("/m/Maildir/")], prefix: b"Return-Path: <a@b>\nDelivered-To: c@d\n".to_vec(), dtline: b"Delivered-To: c@d".to_vec() }
    }

    fn guards(dir: &Path) -> Vec<Guard> {
        ["home", "home/.qmail"].iter().map(|p| {
            let path = dir.join(p).display().to_string();
            Guard { seen: signature(&path).unwrap(), path }
        }).collect()
    }

    #[test]
    fn an_answer_holds_while_its_files_stat_the_same_in_its_generation_and_for_its_sender() {
        let dir = Scratch::new("hold");
        let cache = RcptCache::default();
        let ok = Reply::new(250, "2.1.5", "recipient ok");
        cache.keep(3, "a@b", "c@d", ok.clone(), target(), guards(&dir.0));
        let (r, t) = cache.answer(3, "a@b", "c@d").expect("a hit");
        assert_eq!((r, t.prefix), (ok, target().prefix));
        assert!(cache.answer(4, "a@b", "c@d").is_none(), "another generation");
        assert!(cache.answer(3, "x@y", "c@d").is_none(), "another sender");
        // Past the clock's granularity, as the policy side's guards are (settled files only).
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(dir.0.join("home/.qmail"), "|program\n").unwrap();
        assert!(cache.answer(3, "a@b", "c@d").is_none(), "a .qmail appeared");
    }

    #[test]
    fn a_rewritten_file_a_removed_file_and_clear_are_misses() {
        let dir = Scratch::new("miss");
        std::fs::write(dir.0.join("home/.qmail"), "./Maildir/\n").unwrap();
        let cache = RcptCache::default();
        let ok = Reply::new(250, "2.1.5", "recipient ok");
        cache.keep(1, "", "c@d", ok.clone(), target(), guards(&dir.0));
        assert!(cache.answer(1, "", "c@d").is_some());
        std::fs::write(dir.0.join("home/.qmail"), "./Maildir/\n./Other/\n").unwrap();
        assert!(cache.answer(1, "", "c@d").is_none(), "rewritten");
        cache.keep(1, "", "c@d", ok.clone(), target(), guards(&dir.0));
        std::fs::remove_file(dir.0.join("home/.qmail")).unwrap();
        assert!(cache.answer(1, "", "c@d").is_none(), "removed");
        cache.keep(1, "", "c@d", ok, target(), guards(&dir.0));
        assert!(cache.answer(1, "", "c@d").is_some());
        cache.clear();
        assert!(cache.answer(1, "", "c@d").is_none(), "cleared");
    }

    #[test]
    fn a_missing_file_in_a_held_folder_is_not_stat_ed_again_but_elsewhere_it_is() {
        let dir = Scratch::new("folder");
        let cache = RcptCache::default();
        let ok = Reply::new(250, "2.1.5", "recipient ok");
        // Guards as no plan could see them (home/.qmail exists): only a stat would tell.
        std::fs::write(dir.0.join("home/.qmail"), "|program\n").unwrap();
        let missing = |p: &str| Guard { path: dir.0.join(p).display().to_string(), seen: String::new() };
        let mut guards = guards(&dir.0);
        guards[1] = missing("home/.qmail");
        cache.keep(1, "", "c@d", ok.clone(), target(), guards.clone());
        assert!(cache.answer(1, "", "c@d").is_some(), "home/ holds: home/.qmail not stat'ed");
        guards.push(missing("home/sub/.qmail"));
        std::fs::create_dir(dir.0.join("home/sub")).unwrap();
        std::fs::write(dir.0.join("home/sub/.qmail"), "|program\n").unwrap();
        guards[0].seen = signature(&guards[0].path).unwrap();
        cache.keep(1, "", "c@d", ok, target(), guards);
        assert!(cache.answer(1, "", "c@d").is_none(), "home/sub/ is no guard: its .qmail is stat'ed");
    }

    #[test]
    fn a_guard_that_cannot_be_stat_ed_is_a_miss() {
        let cache = RcptCache::default();
        let unstatable = Guard { path: "/tmp/nul\0in-the-name".into(), seen: String::new() };
        assert!(signature(&unstatable.path).is_err());
        cache.keep(1, "", "c@d", Reply::new(250, "2.1.5", "recipient ok"), target(), vec![unstatable]);
        assert!(cache.answer(1, "", "c@d").is_none());
    }

    #[test]
    fn a_missing_path_signs_empty() {
        assert_eq!(signature("/nonexistent/qmta/.qmail").unwrap(), "");
        assert_eq!(signature("/etc/hostname/.qmail").unwrap(), "", "ENOTDIR counts as missing");
        assert!(!signature("/").unwrap().is_empty());
    }
}
