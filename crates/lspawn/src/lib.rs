//! The delivery helper (qmail-lspawn's role, DESIGN.md "Processes and privileges"): the
//! one part of qmta that stays root once the daemon has dropped. It takes requests from
//! the daemon only, one packet each over a SOCK_SEQPACKET pair made before the drop,
//! never network input. Each request names a mailbox owner; the helper checks it against
//! the system's accounts and starts one child as that owner (uid, gid, the owner's groups)
//! that does the whole qmail-local run or POP3 session. It writes no file and runs no
//! program as root.
//!
//! Interface: `Request::decode`/`encode` (frame.rs, bounded, fuzzed), `authorize`
//! (check.rs: what may run as whom), `serve` (serve.rs: the loop).
//! Failures: a refused request is answered on the request's own reply socket with a
//! temporary failure (the daemon's delivery is retried); qmail's wording for root:
//! "Not allowed to perform deliveries as root." Nothing a request says can make the
//! helper open a path, run as uid 0, or start anything but qmta's own child command.

mod check;
mod frame;
mod serve;

pub use check::{authorize, Accounts, SystemAccounts, Target};
pub use frame::{Kind, Request, MAX_PACKET};
pub use serve::{serve, Settings};
