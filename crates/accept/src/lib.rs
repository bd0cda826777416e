//! accept: what happens between the end of DATA and its 250 (DESIGN.md, "two delivery
//! paths, one promise"). A recipient whose whole delivery is maildirs the receiving
//! process may write is delivered here, at accept time, and never enters the queue; every
//! other recipient takes qmail's straight paper path through the queue. The 250 is sent
//! only once `commit` reports that every recipient's file or queue entry is durable.
//!
//! Interface: `Message` (the body as it arrives: memory, then a spool file), `Target`
//! (a direct recipient's maildirs and prefix lines), `commit(Accepted, &Queue, done)` ->
//! `Report`; `claimed` (forged Authentication-Results fields to leave out when writing).
//! The SMTP sessions (crates/smtp-server) own one `Message` each.
//! Failures and guarantees: commit.rs, target.rs, message.rs.

mod commit;
mod fssync;
mod header;
mod message;
mod target;

pub use commit::{commit, Accepted, Recipient, Report};
pub use header::claimed;
pub use message::{Message, MessageReader, HEAD_KEEP, SPILL_AT};
pub use target::{looping, Durability, Target};

#[cfg(test)]
mod tests;
