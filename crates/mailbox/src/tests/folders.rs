use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Scratch;
use crate::folders::{Folders, Kept, Seen};
use crate::sys;

/// The inode of new/ the folders hold, and the one the path names now.
fn new_inodes(f: &Folders, md: &Path) -> (u64, u64) {
    (sys::fstat(f.new.as_fd()).unwrap().st_ino, fs::metadata(md.join("new")).unwrap().ino())
}

/// Past the clock's granularity (a jiffy), so a change gets another ctime.
fn tick() {
    std::thread::sleep(Duration::from_millis(50));
}

/// A maildir whose folders `kept` now holds (asserted), with those folders.
fn kept_maildir(s: &Scratch, kept: &Kept) -> (PathBuf, Arc<Folders>) {
    let md = s.path("Maildir");
    kept.open(&md).unwrap();
    tick();
    // Made by the first open, after its stat: opened again, then kept.
    let first = kept.open(&md).unwrap();
    assert!(Arc::ptr_eq(&first, &kept.open(&md).unwrap()), "unchanged: kept");
    tick();
    (md, first)
}

#[test]
fn kept_folders_serve_while_the_maildir_is_unchanged_and_never_after_a_change() {
    let s = Scratch::new();
    let kept = Kept::new(Duration::ZERO);
    let (md, first) = kept_maildir(&s, &kept);
    fs::rename(md.join("new"), s.path("old-new")).unwrap();
    fs::create_dir(md.join("new")).unwrap();
    let replaced = kept.open(&md).unwrap();
    assert!(!Arc::ptr_eq(&first, &replaced), "new/ replaced: opened again");
    let (held, named) = new_inodes(&replaced, &md);
    assert_eq!(held, named);
    tick();
    fs::rename(&md, s.path("moved")).unwrap();
    let fresh = kept.open(&md).unwrap();
    let (held, named) = new_inodes(&fresh, &md);
    assert_eq!(held, named, "a maildir moved away: the path's new one is made and opened");
    tick();
    fs::remove_dir_all(md.join("cur")).unwrap();
    kept.open(&md).unwrap();
    assert!(md.join("cur").is_dir(), "cur/ removed: made again");
}

#[test]
fn a_kept_maildir_replaced_by_a_symlink_is_refused() {
    let s = Scratch::new();
    let kept = Kept::new(Duration::ZERO);
    let (md, _) = kept_maildir(&s, &kept);
    // The symlink leads to the very folder kept: still refused, as the path walk refuses it.
    fs::rename(&md, s.path("real")).unwrap();
    symlink(s.path("real"), &md).unwrap();
    assert_eq!(kept.open(&md).err().unwrap().status, "4.7.0");
}

#[test]
fn a_recently_changed_or_relative_maildir_is_not_kept() {
    let s = Scratch::new();
    let md = s.path("Maildir");
    let settling = Kept::new(Duration::from_secs(3600));
    assert!(!Arc::ptr_eq(&settling.open(&md).unwrap(), &settling.open(&md).unwrap()));
    let kept = Kept::new(Duration::ZERO);
    let relative = md.strip_prefix("/").unwrap();
    std::env::set_current_dir("/").unwrap();
    assert!(!Arc::ptr_eq(&kept.open(relative).unwrap(), &kept.open(relative).unwrap()));
}

#[test]
fn a_changed_maildir_that_cannot_be_kept_again_drops_its_kept_folders() {
    let s = Scratch::new();
    let kept = Kept::new(Duration::from_millis(500));
    let md = s.path("Maildir");
    kept.open(&md).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let first = kept.open(&md).unwrap();
    assert!(Arc::ptr_eq(&first, &kept.open(&md).unwrap()), "settled: kept");
    fs::create_dir(md.join(".Sent")).unwrap();
    assert!(!Arc::ptr_eq(&first, &kept.open(&md).unwrap()), "changed: opened again");
    assert_eq!(Arc::strong_count(&first), 1, "the stale entry let go of its folders");
}

#[test]
fn a_whole_second_ctime_settles_after_two_seconds_a_finer_one_after_the_given_time() {
    let at = |secs: i64, nanos: i64| Seen { dev: 1, ino: 1, ctime: (secs, nanos) };
    let now = |secs: u64, millis: u64| Duration::from_secs(secs) + Duration::from_millis(millis);
    let settle = Duration::from_millis(100);
    assert!(!at(1000, 5).settled(settle, now(1000, 50)));
    assert!(at(1000, 5).settled(settle, now(1000, 150)));
    assert!(!at(1000, 0).settled(settle, now(1001, 500)), "a filesystem that may keep whole seconds");
    assert!(at(1000, 0).settled(settle, now(1002, 100)));
}
