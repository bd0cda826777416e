//! qmta's wire encoding: a message as stored in the queue or a maildir (LF line ends,
//! possibly stray CR or CR LF) turned into what SMTP DATA and POP3 RETR/TOP send:
//! CR LF line ends, dot-stuffed, ended by `.` CR LF, streamed in bounded chunks.
//!
//! Interface: `WireReader` (open, next(max), size), `wire_size`, `Options` (prefix,
//! body_lines), and the underlying `Encoder` for callers that hold bytes in memory.
//! Users: ts/remote (SMTP client, through bindings/src/wire.rs) and ts/pop3d.
//! Rules and the partial-final-line decision: see encode.rs.

mod encode;
mod reader;

pub use encode::{Counter, Encoder, Sink, CRLF, TERMINATOR};
pub use reader::{wire_size, Options, WireReader, MAX_CHUNK, READ_SIZE};

#[cfg(test)]
mod tests;
