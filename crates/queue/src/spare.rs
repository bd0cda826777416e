//! Spare files: the inodes of removed queue files, kept in spare/ for the next create.
//!
//! Why: on ext4 without a journal (the machines DESIGN.md describes), the inode allocator
//! skips every inode freed in the last minutes, scanning past them one by one, so a queue
//! that frees four inodes a message makes each later create slower; profiles showed that
//! scan as the largest single cost of an SMTP load. A queue file that is done with is
//! renamed to spare/<inode number> instead, and the next create renames a spare into place
//! (RENAME_NOREPLACE, so it reserves the name exactly as O_EXCL does) and overwrites it:
//! no inode and, for a small file, no block is freed or allocated.
//!
//! Interface: `park(path)` moves a file to spare/ and returns its name; `offer(name)` makes
//! it available; `recycle(path)` is both. `create(path)` takes a spare or makes a new
//! file. The caller writes the whole content and then cuts the file to its length
//! (`File::set_len`): a spare still holds its old bytes.
//!
//! Crash safety: spare/ is never fsync'd and a spare is never trusted after a restart:
//! after a crash a spare's name may survive beside the name it was given since (the same
//! inode twice), so recovery unlinks every name in spare/ (a name only: the other name
//! keeps the data). The names taken by this process are the only ones it reuses. A file
//! with more than one link (intd while todo still links it), or owned by another user,
//! is never parked.
//!
//! Failures: I/O errors are returned to the caller, which treats them as it treated the
//! unlink or create they replace. A spare that cannot be taken (vanished after another
//! process's recovery, or any other error) is forgotten and the next one tried, down to a
//! new file; only "the name exists" is the caller's (the id is taken).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::layout::unlink_quiet;
use crate::writer::create_excl;

/// Spares kept at most; past that, removed files are unlinked.
const MAX_SPARES: usize = 4096;

pub(crate) struct Spares {
    dir: PathBuf,
    free: Mutex<Vec<u64>>,
    /// Only files this user owns are kept: a file another user (a `qmta inject` run by
    /// someone) created stays theirs, and must not come to hold someone else's message.
    owner: u32,
}

impl Spares {
    pub(crate) fn new(root: &Path) -> Spares {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Spares::owned_by(root, unsafe { libc::geteuid() })
    }

    fn owned_by(root: &Path, owner: u32) -> Spares {
        Spares { dir: root.join("spare"), free: Mutex::default(), owner }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Vec<u64>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves a single-link file of ours to spare/ and returns its name; unlinks it when the
    /// pool is full, it has other links or another owner. Ok(None) when nothing was moved.
    pub(crate) fn park(&self, path: &Path) -> io::Result<Option<u64>> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !meta.is_file() || meta.nlink() != 1 || meta.uid() != self.owner || self.free().len() >= MAX_SPARES {
            return unlink_quiet(path).map(|_| None);
        }
        match fs::rename(path, self.dir.join(meta.ino().to_string())) {
            Ok(()) => Ok(Some(meta.ino())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes a parked file available to `create`.
    pub(crate) fn offer(&self, name: Option<u64>) {
        if let Some(n) = name {
            self.free().push(n);
        }
    }

    /// `park` then `offer`; true when the file existed.
    pub(crate) fn recycle(&self, path: &Path) -> io::Result<bool> {
        let existed = path.exists();
        self.offer(self.park(path)?);
        Ok(existed)
    }

    /// Creates `path`, which must not exist, from a spare or as a new file (mode 0640).
    /// The caller writes everything and then sets the length (see the header).
    pub(crate) fn create(&self, path: &Path) -> io::Result<File> {
        loop {
            let Some(name) = self.free().pop() else { return create_excl(path) };
            match rename_noreplace(&self.dir.join(name.to_string()), path) {
                Ok(()) => return OpenOptions::new().write(true).open(path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    self.free().push(name);
                    return Err(e);
                }
                // Vanished (another process's recovery) or unusable: forget it, try the next.
                Err(_) => continue,
            }
        }
    }

    /// Start-up: forgets every spare and unlinks every name in spare/ (see the header).
    pub(crate) fn clear(&self) -> io::Result<()> {
        self.free().clear();
        for e in fs::read_dir(&self.dir)? {
            unlink_quiet(&e?.path())?;
        }
        Ok(())
    }
}

/// rename(2) that fails with EEXIST instead of replacing `to`.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD makes them relative to the cwd.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qmta-spare-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("spare")).unwrap();
        d
    }

    #[test]
    fn a_removed_file_is_reused_with_its_inode_and_cut_to_the_new_length() {
        let d = dir("reuse");
        let s = Spares::new(&d);
        fs::write(d.join("a"), b"old contents, longer").unwrap();
        let ino = fs::metadata(d.join("a")).unwrap().ino();
        assert!(s.recycle(&d.join("a")).unwrap());
        assert!(!d.join("a").exists());
        let mut f = s.create(&d.join("b")).unwrap();
        f.write_all(b"new").unwrap();
        f.set_len(3).unwrap();
        assert_eq!(fs::read(d.join("b")).unwrap(), b"new");
        assert_eq!(fs::metadata(d.join("b")).unwrap().ino(), ino);
        assert_eq!(fs::read_dir(d.join("spare")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn create_never_replaces_and_skips_vanished_spares() {
        let d = dir("noreplace");
        let s = Spares::new(&d);
        fs::write(d.join("a"), b"x").unwrap();
        fs::write(d.join("taken"), b"keep").unwrap();
        s.recycle(&d.join("a")).unwrap();
        assert_eq!(s.create(&d.join("taken")).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(d.join("taken")).unwrap(), b"keep");
        s.clear().unwrap(); // the spare's name is gone, as after another process's recovery
        s.offer(Some(1));
        s.create(&d.join("c")).unwrap();
        assert!(d.join("c").is_file());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn another_user_s_file_is_unlinked_not_parked() {
        let d = dir("owner");
        let mine = fs::metadata(&d).unwrap().uid();
        let s = Spares::owned_by(&d, mine + 1);
        fs::write(d.join("theirs"), b"x").unwrap();
        assert_eq!(s.park(&d.join("theirs")).unwrap(), None);
        assert!(!d.join("theirs").exists());
        assert_eq!(fs::read_dir(d.join("spare")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_file_with_two_links_is_unlinked_not_parked() {
        let d = dir("links");
        let s = Spares::new(&d);
        fs::write(d.join("intd"), b"env").unwrap();
        fs::hard_link(d.join("intd"), d.join("todo")).unwrap();
        assert_eq!(s.park(&d.join("intd")).unwrap(), None);
        assert!(!d.join("intd").exists());
        assert_eq!(fs::read(d.join("todo")).unwrap(), b"env");
        assert_eq!(fs::read_dir(d.join("spare")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }
}
