//! The contract between the core's SMTP sessions and the policy side (TypeScript, through
//! the bindings' decision channel): what a session asks, what it is told back, and what it
//! reports. The policy side decides; the core carries it out.
//!
//! Every `ask` must be answered through its `Responder` (or the responder dropped, which the
//! session takes as a local failure: 451 4.3.0, never a 5xx). `tell` reports facts that
//! need no answer (a message accepted, a session closed). Neither may block: both only
//! hand the item over.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use accept::{Message, Report, Target};
use smtp_proto::Reply;
use status::Failure;
use tokio::sync::oneshot;

use crate::rcpt_cache::Guard;

/// Which listener a session came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Port 25-style.
    Smtp,
    /// Submission: MAIL needs AUTH.
    Submission,
    /// Implicit TLS submission (RFC 8314).
    Smtps,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Smtp => "smtp",
            Kind::Submission => "submission",
            Kind::Smtps => "smtps",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Smtp, Kind::Submission, Kind::Smtps].into_iter().find(|k| k.name() == s)
    }
}

/// The TLS protocol and cipher of a session, in the names OpenSSL prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    pub protocol: String,
    pub cipher: String,
}

/// Who is on the other end of a session, as decisions need it.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Unique within the process; names the session in every ask and event.
    pub sid: u64,
    pub kind: Kind,
    pub ip: IpAddr,
    pub port: u16,
    /// The address the client connected to.
    pub local: SocketAddr,
    pub tls: Option<TlsInfo>,
    pub helo: Option<String>,
    /// The AUTH identity the policy accepted.
    pub user: Option<String>,
    /// The rules generation the session was admitted under (rules.rs).
    pub generation: u64,
    /// The peer's address is a relay client's (control/relayclients, mail.rs).
    pub relay: bool,
    /// The session's transactions so far, counted at each MAIL: an ask or event names the
    /// transaction it belongs to, also when the core answered that MAIL itself.
    pub transaction: u32,
}

/// A question for the policy side.
pub enum Ask {
    /// Before the greeting (asked only when the rules say so: an embedder's hook).
    Connect,
    /// EHLO/HELO (asked only when the rules' session settings say so).
    Helo { name: String, ehlo: bool },
    Mail { address: String, size: Option<u64>, body: Option<String>, smtputf8: bool },
    /// `accepted`: the recipients of this transaction accepted so far.
    Rcpt { sender: String, address: String, accepted: Vec<String> },
    Auth { mechanism: &'static str, user: String, password: String },
    Etrn { domain: String },
    /// The whole message, before it is made durable (asked only when the MAIL answer or the
    /// rules say the policy reads content: checks, signing, hooks). `header` is the
    /// Received line.
    Data { sender: String, recipients: Vec<String>, message: Arc<Message>, header: Arc<Vec<u8>> },
}

/// The policy's answer; each ask has its own shape.
pub enum Answer {
    Reply(Reply),
    /// A positive reply may say that this transaction's content goes to the policy (`Ask::Data`).
    Mail(Reply, bool),
    /// A positive reply may route the recipient to its maildirs (delivery at accept time),
    /// and say which files the route was read from: the core may then give the same answer
    /// again while they stat the same (rcpt_cache.rs).
    Rcpt(Reply, Option<Target>, Vec<Guard>),
    /// A positive reply carries the authenticated name.
    Auth(Reply, Option<String>),
    /// A refusal; or header lines to put before the Received line, and the authserv-id whose
    /// forged Authentication-Results fields are left out of the message (crates/accept).
    Data(Option<Reply>, Vec<u8>, Option<String>),
}

pub type Responder = oneshot::Sender<Answer>;

/// Facts the policy side is told (logs, statistics, the scheduler's wake-up).
pub enum Event {
    /// A message got its 250: what became of each recipient.
    Accepted { peer: Peer, sender: String, recipients: Vec<String>, report: Report },
    /// A message could not be made durable (its 4xx/5xx was sent).
    Failed { peer: Peer, sender: String, recipients: usize, failure: Failure },
    /// The session ended; `replies` counts the reply codes it was sent.
    Closed { peer: Peer, accepted: u32, millis: u64, replies: Vec<(u16, u32)> },
    /// Something went wrong inside the core for one session (it was closed with 421).
    Error { peer: Peer, text: String },
}

/// The policy side, as a session sees it.
pub trait Policy: Send + Sync + 'static {
    fn ask(&self, peer: &Peer, ask: Ask, answer: Responder);
    fn tell(&self, event: Event);
}
