//! qmta's mailbox writers: maildir (qmail-local's tmp/ -> new/ protocol) and mbox
//! (From_ line, mboxrd quoting, fcntl lock + dotlock, truncated back on failure).
//!
//! Interface: `deliver_maildir`, `deliver_mbox`; both copy the body from a file inside
//! Rust, after caller-given header lines (Return-Path, Delivered-To), so a body never
//! passes through JavaScript and is never loaded whole into memory.
//!
//! Failures are `status::Failure` values: a `..` component or a symlinked folder on the
//! path -> temporary 4.7.0; OS errors through the errno table in crates/status (all
//! temporary except EFBIG, permanent 5.2.2); a busy mbox after the lock wait ->
//! temporary 4.3.0. README.md has the table.

mod fault;
mod folders;
mod from_line;
mod lock;
mod maildir;
mod mbox;
mod quote;
pub mod read;
mod safe_path;
mod sys;
mod unique;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::Path;

use status::{Failure, Result};

use from_line::from_line;
#[cfg(test)]
use from_line::ctime_utc;
pub use from_line::{civil_from_days, MONTHS};
pub use maildir::{deliver_maildir, stage, MaildirDelivery, Staged};
pub use mbox::{deliver_mbox, MboxDelivery, DOTLOCK_STALE, LOCK_WAIT, SENDER_MAX};
use quote::Quoter;

/// Largest header block a caller may hand in (Return-Path, Delivered-To, a few more).
pub const HEADERS_MAX: usize = 64 * 1024;

/// The header bytes must be bounded and, when present, end in LF (each line does).
fn check_headers(headers: &[u8]) -> Result<()> {
    if headers.len() > HEADERS_MAX {
        return Err(Failure::temp("3.0", format!("header lines over {HEADERS_MAX} bytes")));
    }
    if headers.last().is_some_and(|&b| b != b'\n') {
        return Err(Failure::temp("3.0", "header lines must end with LF"));
    }
    Ok(())
}

/// Opens the message body (the queue's file) for reading.
fn open_body(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Failure::from_io(&e, &format!("opening body {}", path.display())))
}
