//! The message being received: its bytes in memory while small, then in a spool file.
//!
//! Interface: `Message::new(spool_dir)`, `write` as decoded body bytes arrive, then read
//! back any number of times, from any thread, with `reader()` or `reader_without(ranges)`
//! (positional reads, so copies into several maildirs may run at once), `size()`, and
//! `head()` (the first bytes, for the header checks).
//!
//! The first SPILL_AT bytes stay in memory (a typical message never touches the disk until
//! it is delivered); past that the bytes go to an anonymous file (O_TMPFILE) in the spool
//! folder, the queue's own filesystem: it has no name, so a crash leaves nothing behind,
//! and only HEAD_KEEP bytes stay in memory.
//! Failures: creating or writing the spool -> temporary (errno table); after a failure every
//! later write returns it (the message is refused with 451 at its end).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use status::{Failure, Result};

/// Bytes held in memory before the message moves to the spool file.
pub const SPILL_AT: usize = 256 * 1024;
/// Bytes of a spooled message kept in memory for the header checks.
pub const HEAD_KEEP: usize = 64 * 1024;

pub struct Message {
    mem: Vec<u8>,
    spool: Option<File>,
    size: u64,
    dir: PathBuf,
    failed: Option<Failure>,
}

impl Message {
    /// An empty message; a spool file, if needed, is made in `spool_dir`.
    pub fn new(spool_dir: &Path) -> Message {
        Message { mem: Vec::new(), spool: None, size: 0, dir: spool_dir.to_path_buf(), failed: None }
    }

    /// Appends decoded body bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        let r = self.append(bytes);
        if let Err(e) = r {
            let f = Failure::from_io(&e, "spooling the message");
            self.failed = Some(f.clone());
            self.spool = None;
            return Err(f);
        }
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(f) = self.spool.as_mut() {
            return f.write_all(bytes);
        }
        if self.mem.len() + bytes.len() <= SPILL_AT {
            self.mem.extend_from_slice(bytes);
            return Ok(());
        }
        let mut f = spool_file(&self.dir)?;
        f.write_all(&self.mem)?;
        f.write_all(bytes)?;
        self.mem.truncate(HEAD_KEEP);
        self.mem.shrink_to_fit();
        self.spool = Some(f);
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first bytes of the message (all of it while it is in memory).
    pub fn head(&self) -> &[u8] {
        &self.mem
    }

    /// The failure that stopped the spooling, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.failed.as_ref()
    }

    /// Reads the whole message from its start; independent of other readers.
    pub fn reader(&self) -> MessageReader<'_> {
        self.reader_without(&[])
    }

    /// Reads the message from byte `pos` on.
    pub fn reader_at(&self, pos: u64) -> MessageReader<'_> {
        MessageReader { msg: self, pos, skip: &[], full_skip: &[] }
    }

    /// Reads the message leaving out the byte ranges `skip` (sorted, not overlapping).
    pub fn reader_without<'a>(&'a self, skip: &'a [Range<u64>]) -> MessageReader<'a> {
        MessageReader { msg: self, pos: 0, skip, full_skip: skip }
    }
}

/// A read of a message from its start (positional: several may run at once).
pub struct MessageReader<'a> {
    msg: &'a Message,
    pos: u64,
    /// The ranges still ahead, and all of them (for `fresh`).
    skip: &'a [Range<u64>],
    full_skip: &'a [Range<u64>],
}

impl Read for MessageReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(r) = self.skip.first() {
            if self.pos >= r.end {
                self.skip = &self.skip[1..];
            } else if self.pos >= r.start {
                self.pos = r.end;
            } else {
                break;
            }
        }
        let room = self.skip.first().map_or(buf.len(), |r| buf.len().min(usize::try_from(r.start - self.pos).unwrap_or(usize::MAX)));
        let n = self.read_at(&mut buf[..room])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<'a> MessageReader<'a> {
    /// A reader of the same message and ranges, from the start.
    pub fn fresh(&self) -> MessageReader<'a> {
        MessageReader { msg: self.msg, pos: 0, skip: self.full_skip, full_skip: self.full_skip }
    }

    /// The most bytes still to read (the ranges left out are not subtracted).
    pub fn at_most(&self) -> u64 {
        self.msg.size.saturating_sub(self.pos)
    }

    fn read_at(&self, buf: &mut [u8]) -> io::Result<usize> {
        let m = self.msg;
        let n = match &m.spool {
            Some(f) => {
                let want = buf.len().min(usize::try_from(m.size.saturating_sub(self.pos)).unwrap_or(usize::MAX));
                f.read_at(&mut buf[..want], self.pos)?
            }
            None => {
                let rest = &m.mem[usize::try_from(self.pos).unwrap_or(usize::MAX).min(m.mem.len())..];
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
        };
        Ok(n)
    }
}

/// An anonymous file in `dir` (O_TMPFILE); where the filesystem lacks it, a named file
/// unlinked at once.
fn spool_file(dir: &Path) -> io::Result<File> {
    let anon = OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(0o600).open(dir);
    match anon {
        Ok(f) => Ok(f),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)) => {
            let path = dir.join(format!(".spool-{}-{}", std::process::id(), queue::fresh_id()));
            let f = OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
            std::fs::remove_file(&path)?;
            Ok(f)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(m: &Message) -> Vec<u8> {
        let mut v = Vec::new();
        m.reader().read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn a_small_message_stays_in_memory() {
        let mut m = Message::new(Path::new("/nonexistent"));
        m.write(b"Subject: x\n\n").unwrap();
        m.write(b"body\n").unwrap();
        assert_eq!(read_all(&m), b"Subject: x\n\nbody\n");
        assert_eq!(m.size(), 17);
        assert!(m.spool.is_none());
    }

    #[test]
    fn at_most_counts_what_is_left_to_read() {
        let mut m = Message::new(Path::new("/nonexistent"));
        m.write(b"Subject: x\n\nbody\n").unwrap();
        let mut r = m.reader();
        assert_eq!(r.at_most(), 17);
        r.read_exact(&mut [0u8; 5]).unwrap();
        assert_eq!(r.at_most(), 12);
        assert_eq!(m.reader_at(20).at_most(), 0);
    }

    #[test]
    fn a_large_message_spills_and_reads_back_whole_from_two_readers() {
        let dir = std::env::temp_dir();
        let mut m = Message::new(&dir);
        let chunk: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..5 {
            m.write(&chunk).unwrap();
        }
        assert!(m.spool.is_some());
        assert_eq!(m.head().len(), HEAD_KEEP);
        let (mut a, mut b) = (m.reader(), m.reader());
        let mut first = [0u8; 10];
        a.read_exact(&mut first).unwrap();
        let mut all = Vec::new();
        b.read_to_end(&mut all).unwrap();
        assert_eq!(all, chunk.repeat(5));
        assert_eq!(first, chunk[..10]);
        let mut cut = Vec::new();
        let skip = [3..10, 99_990..100_010, 499_999..500_000];
        m.reader_without(&skip).read_to_end(&mut cut).unwrap();
        let whole = chunk.repeat(5);
        let want = [&whole[..3], &whole[10..99_990], &whole[100_010..499_999]].concat();
        assert!(cut == want, "the ranges are left out, nothing else");
    }

    #[test]
    fn a_spool_that_cannot_be_made_fails_every_later_write() {
        let mut m = Message::new(Path::new("/nonexistent/spool"));
        let f = m.write(&vec![b'x'; SPILL_AT + 1]).unwrap_err();
        assert!(f.is_temporary());
        assert!(m.write(b"more").is_err());
        assert!(m.failure().is_some());
    }
}
