//! Maildir reading for POP3 (ts/pop3d): what qmail-pop3d does at login, in one call
//! that runs off the event loop.
//!
//! Interface: `open_maildrop(maildir, now, size_of) -> Result<Vec<Listed>>`.
//! Steps: delete tmp/ files whose atime is older than 36 h (a writer died mid-delivery;
//! maildir.5); rename every new/NAME to cur/NAME:2, (seen by a reader); list cur/
//! (names starting with "." skipped), each with its mtime and the size `size_of` gives
//! (the wire encoder's RFC 1939 size: the caller passes `wire::wire_size`, so this crate
//! does not depend on the encoder), ordered by mtime, then name.
//! Failures: the maildir or one of its folders cannot be read -> the errno table (no such
//! maildir: ENOENT -> its class and status there); a size that fails other than ENOENT ->
//! that failure. A folder missing from a maildir that exists is empty: the first delivery
//! makes the maildir and then its folders (crates/mailbox folders.rs), and a login may
//! come in between. A file that vanishes between the listing and its stat or size
//! (another reader took it) is left out, and so is a new/ file another reader moved first.
//! Guarantees: nothing in cur/ is deleted or renamed here; the caller (holding the
//! POP3 lock) decides deletions at QUIT.
//! Departure from qmail-pop3d: new/ -> cur/ at login instead of QUIT, and messages
//! delivered in the current second are shown (see ts/pop3d/maildrop.ts for why).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use status::{Failure, Result};

/// tmp/ files untouched for this long are debris (qmail-pop3d, maildir.5).
pub const TMP_MAX_AGE: Duration = Duration::from_secs(36 * 3600);

/// One message of the maildrop, in cur/.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// File name inside cur/ (unique name plus ":2,..." info).
    pub file: String,
    /// Modification time in milliseconds since the epoch (the delivery time).
    pub mtime_ms: u64,
    /// Size as `size_of` counted it.
    pub size: u64,
}

/// Cleans tmp/, moves new/ to cur/ and lists cur/ with sizes.
pub fn open_maildrop<F>(maildir: &Path, now: SystemTime, size_of: F) -> Result<Vec<Listed>>
where
    F: Fn(&Path) -> Result<u64>,
{
    fs::metadata(maildir).map_err(|e| Failure::from_io(&e, &format!("reading {}", maildir.display())))?;
    clean_tmp(&maildir.join("tmp"), now)?;
    move_new(maildir)?;
    let mut listed = list_cur(&maildir.join("cur"), &size_of)?;
    listed.sort_by(|a, b| a.mtime_ms.cmp(&b.mtime_ms).then_with(|| a.file.cmp(&b.file)));
    Ok(listed)
}

/// The names in the folder `dir`; none when it does not exist (yet).
fn read_dir(dir: &Path) -> Result<Vec<String>> {
    let what = || format!("reading {}", dir.display());
    let entries = match fs::read_dir(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(|e| Failure::from_io(&e, &what()))?,
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Failure::from_io(&e, &what()))?;
        // Names that are not UTF-8 cannot come from a maildir writer: not ours to show.
        if let Ok(name) = entry.file_name().into_string() {
            if !name.starts_with('.') {
                names.push(name);
            }
        }
    }
    Ok(names)
}

fn clean_tmp(tmp: &Path, now: SystemTime) -> Result<()> {
    for name in read_dir(tmp)? {
        let path = tmp.join(&name);
        let Ok(meta) = fs::metadata(&path) else { continue };
        let old = meta.accessed().is_ok_and(|a| now.duration_since(a).is_ok_and(|age| age > TMP_MAX_AGE));
        if meta.is_file() && old {
            let _ = fs::remove_file(&path); // best effort, as qmail-pop3d
        }
    }
    Ok(())
}

fn move_new(maildir: &Path) -> Result<()> {
    let new = maildir.join("new");
    let cur = maildir.join("cur");
    for name in read_dir(&new)? {
        let unique = name.split(':').next().unwrap_or(&name);
        match fs::rename(new.join(&name), cur.join(format!("{unique}:2,"))) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Failure::from_io(&e, &format!("moving new/{name} to cur/")));
            }
            _ => {}
        }
    }
    Ok(())
}

fn list_cur<F>(cur: &Path, size_of: &F) -> Result<Vec<Listed>>
where
    F: Fn(&Path) -> Result<u64>,
{
    let mut listed = Vec::new();
    for file in read_dir(cur)? {
        let path = cur.join(&file);
        let Ok(meta) = fs::metadata(&path) else { continue };
        if !meta.is_file() {
            continue;
        }
        let mtime_ms = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as u64);
        match size_of(&path) {
            Ok(size) => listed.push(Listed { file, mtime_ms, size }),
            Err(f) if vanished(&path) => drop(f),
            Err(f) => return Err(f),
        }
    }
    Ok(listed)
}

fn vanished(path: &Path) -> bool {
    matches!(fs::symlink_metadata(path), Err(e) if e.kind() == ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn maildir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("qmta-read-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = fs::remove_dir_all(&dir);
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        dir
    }

    fn put(path: &Path, bytes: &[u8], mtime_s: u64) {
        fs::write(path, bytes).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(mtime_s);
        File::options().write(true).open(path).unwrap().set_times(fs::FileTimes::new().set_accessed(t).set_modified(t)).unwrap();
    }

    fn len(p: &Path) -> Result<u64> {
        fs::metadata(p).map(|m| m.len()).map_err(|e| Failure::from_io(&e, "size"))
    }

    #[test]
    fn moves_new_lists_in_mtime_order_and_cleans_old_tmp() {
        let dir = maildir();
        put(&dir.join("new/200.a.host"), b"two\n", 200);
        put(&dir.join("cur/100.b.host:2,S"), b"one!\n", 100);
        put(&dir.join("cur/.hidden"), b"x", 50);
        put(&dir.join("tmp/old"), b"x", 1);
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        put(&dir.join("tmp/fresh"), b"x", 1_000_000 - 10);
        let listed = open_maildrop(&dir, now, len).unwrap();
        let names: Vec<_> = listed.iter().map(|l| (l.file.as_str(), l.size)).collect();
        assert_eq!(names, [("100.b.host:2,S", 5), ("200.a.host:2,", 4)]);
        assert!(!dir.join("tmp/old").exists());
        assert!(dir.join("tmp/fresh").exists());
        assert_eq!(fs::read_dir(dir.join("new")).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_maildir_is_an_error() {
        let err = open_maildrop(Path::new("/nonexistent/qmta/Maildir"), SystemTime::now(), len).unwrap_err();
        assert_eq!(err.text, "reading /nonexistent/qmta/Maildir: No such file or directory (os error 2)");
    }

    #[test]
    fn a_maildir_whose_folders_are_still_being_made_is_empty() {
        let dir = maildir();
        put(&dir.join("cur/1.x.h:2,"), b"a\n", 5);
        fs::remove_dir(dir.join("tmp")).unwrap();
        fs::remove_dir(dir.join("new")).unwrap();
        let listed = open_maildrop(&dir, SystemTime::now(), len).unwrap();
        assert_eq!(listed.len(), 1);
        fs::remove_dir_all(dir.join("cur")).unwrap();
        assert_eq!(open_maildrop(&dir, SystemTime::now(), len).unwrap(), []);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_size_failure_on_an_existing_file_is_reported() {
        let dir = maildir();
        put(&dir.join("cur/1.x.h:2,"), b"a\n", 5);
        let err = open_maildrop(&dir, SystemTime::now(), |_| Err(Failure::temp("3.0", "boom"))).unwrap_err();
        assert_eq!(err.text, "boom");
        fs::remove_dir_all(&dir).unwrap();
    }
}
