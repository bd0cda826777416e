//! smtp-proto: qmail-smtpd's protocol work as a sans-I/O state machine.
//!
//! Interface: `Session::new(Settings)`, then `greeting()`, `feed(chunk, sink)` with every
//! socket chunk, `answer(reply, sink)` for each `Decision` the session asks for, and
//! `tls_started()` once the TLS handshake after STARTTLS is done. Every call returns an
//! `Output`: the reply bytes to write (all replies produced by that call, batched), at
//! most one pending `Decision`, and the `close` / `starttls` flags.
//!
//! The session never does I/O and never blocks: while a decision is pending it holds the
//! rest of the pipelined input and continues once answered. Message bodies are decoded
//! (dot-unstuffed, CR LF -> LF) and poured into a `BodySink`, never returned.
//!
//! Failures: protocol errors are SMTP replies, not `Err`; `answer` without a pending
//! decision is a broken contract and returns a permanent `Failure` (5.5.0).
//!
//! Guarantees (user-needs §5): every buffer is bounded (command line 512, text line
//! 1,000, held input, message size); only CR LF . CR LF ends DATA; a bare CR or LF is
//! refused in commands and makes a message refused (554 5.6.0); plaintext pipelined
//! after STARTTLS is thrown away and the state reset after the handshake.

mod address;
mod answers;
mod auth;
mod body;
mod command;
mod handlers;
mod reply;
mod session;
mod settings;

pub use body::BodySink;
pub use reply::Reply;
pub use session::{Decision, Mechanism, Output, Session};
pub use settings::Settings;
