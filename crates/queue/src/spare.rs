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

/// What `park` did: whether the file was there, and its spare name if it was kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Parked {
    pub existed: bool,
    name: Option<u64>,
}

impl Parked {
    /// A file removed outright (unlinked, not kept).
    pub(crate) fn unlinked(existed: bool) -> Parked {
        Parked { existed, name: None }
    }
}

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

    /// Moves a single-link file of ours to spare/ (not yet offered); unlinks it instead when
    /// the pool is full, or the file has other links or another owner.
    pub(crate) fn park(&self, path: &Path) -> io::Result<Parked> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Parked::default()),
            Err(e) => return Err(e),
        };
        if !meta.is_file() || meta.nlink() != 1 || meta.uid() != self.owner || self.free().len() >= MAX_SPARES {
            return unlink_quiet(path).map(Parked::unlinked);
        }
        match fs::rename(path, self.dir.join(meta.ino().to_string())) {
            Ok(()) => Ok(Parked { existed: true, name: Some(meta.ino()) }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Parked::default()),
            Err(e) => Err(e),
        }
    }

    /// Makes a parked file available to `create`.
    pub(crate) fn offer(&self, parked: Parked) {
        if let Some(n) = parked.name {
            self.free().push(n);
        }
    }

    /// `park` then `offer` (for files whose old name may come back after a crash
    /// harmlessly); true when the file existed.
    pub(crate) fn recycle(&self, path: &Path) -> io::Result<bool> {
        let parked = self.park(path)?;
        let existed = parked.existed;
        self.offer(parked);
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
    use crate::tests::Dir;
    use std::io::Write;

    /// A directory with spare/ in it, removed when dropped.
    fn dir() -> Dir {
        let d = Dir::new();
        fs::create_dir_all(d.0.join("spare")).unwrap();
        d
    }

    #[test]
    fn a_removed_file_is_reused_with_its_inode_and_cut_to_the_new_length() {
        let Dir(d) = &dir();
        let s = Spares::new(d);
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
        assert_eq!(s.park(&d.join("a")).unwrap(), Parked::default(), "a missing file: nothing done");
    }

    #[test]
    fn create_never_replaces_and_skips_vanished_spares() {
        let Dir(d) = &dir();
        let s = Spares::new(d);
        fs::write(d.join("a"), b"x").unwrap();
        fs::write(d.join("taken"), b"keep").unwrap();
        s.recycle(&d.join("a")).unwrap();
        assert_eq!(s.create(&d.join("taken")).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(d.join("taken")).unwrap(), b"keep");
        s.clear().unwrap(); // the spare's name is gone, as after another process's recovery
        s.offer(Parked { existed: true, name: Some(1) });
        s.create(&d.join("c")).unwrap();
        assert!(d.join("c").is_file());
    }

    #[test]
    fn another_user_s_file_or_one_with_two_links_is_unlinked_not_parked() {
        let Dir(d) = &dir();
        let mine = fs::metadata(d).unwrap().uid();
        fs::write(d.join("intd"), b"env").unwrap();
        fs::hard_link(d.join("intd"), d.join("todo")).unwrap();
        fs::write(d.join("theirs"), b"x").unwrap();
        for (s, file) in [(Spares::new(d), "intd"), (Spares::owned_by(d, mine + 1), "theirs")] {
            assert_eq!(s.park(&d.join(file)).unwrap(), Parked::unlinked(true), "{file}");
            assert!(!d.join(file).exists(), "{file}");
        }
        assert_eq!(fs::read(d.join("todo")).unwrap(), b"env", "the other link keeps the data");
        assert_eq!(fs::read_dir(d.join("spare")).unwrap().count(), 0);
    }
}
