//! N-API face of crates/wire: a message file read out as wire chunks (CR LF line ends,
//! dot-stuffed, `.` CR LF at the end) for ts/remote and ts/pop3d.
//!
//! `WireReader.open(path, { prefix?, bodyLines? })`, `reader.read(max)` -> Buffer | null,
//! `reader.size` (CR LF size without stuffing or terminator), `wireSize(path)`.
//! Failures (open/read errors through the errno table) cross as QMTA_TEMP / QMTA_PERM
//! errors (failure.rs). All calls are synchronous: a read is one bounded chunk; `size`
//! and `wireSize` read the whole file once (page cache speed, about 1 ms per MB).

use std::path::Path;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::failure::{to_napi, Code};

// Spelled out as `Result<..>`: napi-derive recognises a fallible export by that name.
type Error = napi::Error<Code>;

/// What to send besides the file: prefix header lines, POP3 TOP's body line count.
#[napi(object)]
pub struct WireOptions {
    pub prefix: Option<Buffer>,
    pub body_lines: Option<u32>,
}

/// A message file being read out for the wire.
#[napi]
pub struct WireReader {
    inner: wire::WireReader,
}

#[napi]
impl WireReader {
    /// Opens the message file at `path`.
    #[napi(factory)]
    pub fn open(path: String, options: Option<WireOptions>) -> Result<Self, Error> {
        let options = options.map_or_else(wire::Options::default, |o| wire::Options {
            prefix: o.prefix.map(|p| p.to_vec()).unwrap_or_default(),
            body_lines: o.body_lines.map(u64::from),
        });
        let inner = wire::WireReader::open(Path::new(&path), options).map_err(to_napi)?;
        Ok(WireReader { inner })
    }

    /// The next chunk of at most `max` bytes, or null after the terminator.
    #[napi]
    pub fn read(&mut self, max: u32) -> Result<Option<Buffer>, Error> {
        let chunk = self.inner.next(max as usize).map_err(to_napi)?;
        Ok(chunk.map(Buffer::from))
    }

    /// Size with CR LF line ends, without stuffing dots or the terminator.
    #[napi(getter)]
    pub fn size(&mut self) -> Result<f64, Error> {
        self.inner.size().map(|s| s as f64).map_err(to_napi)
    }
}

/// The wire size of the message file at `path` (as `WireReader.size`).
#[napi]
pub fn wire_size(path: String) -> Result<f64, Error> {
    wire::wire_size(Path::new(&path), &wire::Options::default()).map(|s| s as f64).map_err(to_napi)
}
