//! qmta's process identity (qmail's trust partitioning, DESIGN.md "Processes and
//! privileges"): who an account is, sockets bound as root before the daemon drops to
//! its own account, who is calling on a UNIX socket, descriptors passed between the
//! daemon and the delivery helper, and children started as a mailbox owner and bounded
//! in time.
//!
//! Interface: `account_by_name`, `account_by_uid`, `groups_of` (account.rs);
//! `bind_tcp` (listen.rs); `peer_credentials`, `seqpacket_pair`, `stream_pair`,
//! `send_with_fds`, `recv_with_fds` (channel.rs); `spawn_as` (spawn.rs);
//! `private_copy` (copy.rs); `wait_at_most`, `kill_tree` (watch.rs).
//! Failures: `std::io::Error` from the system call; a name with a NUL is "no such account".
//! Guarantees: every descriptor made here is close-on-exec unless handed to a child as
//! its stdin/stdout; `spawn_as` sets groups, gid and uid (in that order) in the child
//! before exec and refuses to exec if the uid is still 0.

mod account;
mod channel;
mod copy;
mod listen;
mod spawn;
mod watch;

pub use account::{account_by_name, account_by_uid, groups_of, Account};
pub use channel::{peer_credentials, recv_with_fds, send_with_fds, seqpacket_pair, stream_pair, Peer};
pub use copy::private_copy;
pub use listen::bind_tcp;
pub use spawn::{spawn_as, Identity, Launch};
pub use watch::{kill_tree, wait_at_most};
