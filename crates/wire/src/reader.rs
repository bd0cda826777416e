//! WireReader: a stored message file handed out as wire chunks, in bounded memory.
//!
//! Interface: `WireReader::open(path, options)`, `next(max) -> Option<Vec<u8>>` (None
//! after the terminator has been handed out), `size()`; `wire_size(path, options)`.
//! Failures: opening or reading the file -> the errno table in crates/status (e.g.
//! ENOENT -> temporary 4.2.1, EIO -> temporary 4.3.0), text "opening message: ..." /
//! "reading message: ...".
//! Guarantees: memory is one read buffer (READ_SIZE) plus at most one chunk being
//! built (at most max + 2 * READ_SIZE + 5 bytes staged), whatever the file size; every chunk holds 1..=max bytes (max clamped to
//! 1..=MAX_CHUNK); the concatenation of the chunks is exactly the encoding of
//! prefix + file (see encode.rs). `size()` reads the same open file (so a rename of
//! the path changes nothing) with positioned reads and leaves the stream untouched.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use status::{Failure, Result};

use crate::encode::{Counter, Encoder, TERMINATOR};

/// Bytes read from the file at a time.
pub const READ_SIZE: usize = 64 * 1024;
/// The largest chunk `next` hands out, whatever the caller asks for.
pub const MAX_CHUNK: usize = 4 * 1024 * 1024;

/// What to send besides the file itself.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Header lines sent before the file, encoded like the file (LF line ends are fine).
    pub prefix: Vec<u8>,
    /// POP3 TOP: only the header and this many body lines.
    pub body_lines: Option<u64>,
}

/// A message file being encoded for the wire, one chunk at a time.
pub struct WireReader {
    file: File,
    options: Options,
    encoder: Encoder,
    /// Encoded bytes, handed out from `staged_pos` on: at most one chunk plus one read's encoding.
    pub(crate) staged: Vec<u8>,
    staged_pos: usize,
    read_buf: Vec<u8>,
    prefix_fed: bool,
    finished: bool,
    size: Option<u64>,
}

impl WireReader {
    /// Opens the message file at `path`.
    pub fn open(path: &Path, options: Options) -> Result<Self> {
        let file = File::open(path).map_err(|e| Failure::from_io(&e, "opening message"))?;
        Ok(Self::from_file(file, options))
    }

    /// Wraps an already open message file, positioned at its start.
    pub fn from_file(file: File, options: Options) -> Self {
        let encoder = Encoder::new(options.body_lines);
        WireReader {
            file,
            options,
            encoder,
            staged: Vec::new(),
            staged_pos: 0,
            read_buf: vec![0; READ_SIZE],
            prefix_fed: false,
            finished: false,
            size: None,
        }
    }

    /// The next chunk of at most `max` bytes; None once everything has been handed out.
    pub fn next(&mut self, max: usize) -> Result<Option<Vec<u8>>> {
        let max = max.clamp(1, MAX_CHUNK);
        if self.staged.len() - self.staged_pos < max && self.staged_pos > 0 {
            // Moving the leftover (< max bytes) to the front keeps `staged` bounded and
            // costs no more than the chunk copy itself.
            self.staged.drain(..self.staged_pos);
            self.staged_pos = 0;
        }
        while self.staged.len() - self.staged_pos < max && !self.finished {
            self.stage_more()?;
        }
        Ok(self.take(max))
    }

    /// The size of what this reader sends (same prefix and line limit), with CR LF line
    /// ends, without dot-stuffing and without the terminator (RFC 1870 SIZE, RFC 1939
    /// LIST). Computed once, by a separate pass over the file.
    pub fn size(&mut self) -> Result<u64> {
        if let Some(size) = self.size {
            return Ok(size);
        }
        let size = count_size(&self.file, &self.options)?;
        self.size = Some(size);
        Ok(size)
    }

    /// Encodes one more read's worth of input into `staged`.
    fn stage_more(&mut self) -> Result<()> {
        if !self.prefix_fed {
            self.prefix_fed = true;
            self.encoder.feed(&self.options.prefix, &mut self.staged);
            return Ok(());
        }
        let n = if self.encoder.is_cut() { 0 } else { read_some(&mut self.file, &mut self.read_buf)? };
        if n == 0 {
            self.encoder.finish(&mut self.staged);
            self.finished = true;
        } else {
            self.encoder.feed(&self.read_buf[..n], &mut self.staged);
        }
        Ok(())
    }

    /// Hands out up to `max` staged bytes, without copying when all of them fit.
    fn take(&mut self, max: usize) -> Option<Vec<u8>> {
        let avail = self.staged.len() - self.staged_pos;
        if avail == 0 {
            return None;
        }
        if self.staged_pos == 0 && avail <= max {
            return Some(std::mem::take(&mut self.staged));
        }
        let end = self.staged_pos + avail.min(max);
        let chunk = self.staged[self.staged_pos..end].to_vec();
        self.staged_pos = end;
        Some(chunk)
    }
}

/// The size of `path` as `WireReader::size` counts it, for a caller that only needs it.
pub fn wire_size(path: &Path, options: &Options) -> Result<u64> {
    let file = File::open(path).map_err(|e| Failure::from_io(&e, "opening message"))?;
    count_size(&file, options)
}

/// Runs the encoder over prefix + file into a counter, reading with pread from offset 0.
fn count_size(file: &File, options: &Options) -> Result<u64> {
    let mut encoder = Encoder::new(options.body_lines);
    let mut counter = Counter::default();
    let mut buf = vec![0; READ_SIZE];
    let mut offset = 0u64;
    encoder.feed(&options.prefix, &mut counter);
    while !encoder.is_cut() {
        let n = read_at(file, &mut buf, offset)?;
        if n == 0 {
            break;
        }
        offset += n as u64;
        encoder.feed(&buf[..n], &mut counter);
    }
    encoder.finish(&mut counter);
    Ok(counter.0 - encoder.stuffed() - TERMINATOR.len() as u64)
}

fn read_some(file: &mut File, buf: &mut [u8]) -> Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| Failure::from_io(&e, "reading message")),
        }
    }
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> Result<usize> {
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| Failure::from_io(&e, "reading message")),
        }
    }
}
