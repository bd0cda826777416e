//! smtp-server: qmta's SMTP listeners in the core (DESIGN.md, "the core owns the SMTP
//! sockets"). Accept, read, write and TLS (rustls) run on the core's own threads and drive
//! the sans-I/O engine of crates/smtp-proto; DATA goes from the socket to the maildirs or
//! the queue (crates/accept) without leaving Rust. The policy side (TypeScript, through
//! the bindings' decision channel) decides what only it can: a stranger's MAIL (SPF), RCPT
//! (and where each recipient is delivered), AUTH, ETRN, and a message's content when it
//! reads content. MAIL's own checks are the core's (mail.rs); an RCPT answer that names the
//! files it was read from is given again by the core while they are unchanged (rcpt_cache.rs).
//!
//! Interface: `Server` (server.rs), `Rules` (rules.rs), the `Policy` contract (policy.rs),
//! `tls::acceptor`, `Snapshot` (counters for the metrics exporter).
//! Failures and guarantees: each file's header; the 250 after DATA is sent only once the
//! message is durable (crates/accept).

mod buffers;
mod conn;
mod counters;
mod io;
pub mod mail;
pub mod policy;
mod rcpt_cache;
mod received;
mod rules;
mod server;
pub mod tls;

pub use counters::{Admission, Snapshot, SESSION_BOUNDS};
pub use policy::{Answer, Ask, Event, Kind, Peer, Policy, Responder, TlsInfo};
pub use mail::{Badmailfrom, MailRules};
pub use rcpt_cache::Guard;
pub use rules::{Network, Rules};
pub use server::{Bound, Server, Wanted};
