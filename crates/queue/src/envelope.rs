//! Envelopes: limits, and the intd/todo file format.
//!
//! intd/todo file (qmail §2.2, plus an end marker):
//!   `u<uid>\0` `p<pid>\0` `F<sender>\0` `T<recipient>\0`... `\0`
//! Departure from qmail: qmail's intd file has no terminating empty record, so an
//! envelope cut at a record boundary looks complete. The lone `\0` at the end (the same
//! terminator qmail-queue reads on its fd 1) makes every truncation detectable.
//!
//! Limits and failures (RFC 3463):
//! | condition                                  | class     | status |
//! |--------------------------------------------|-----------|--------|
//! | sender over 1,000 bytes, or NUL/CR/LF in it | permanent | 5.1.7 (bad sender's mailbox address syntax) |
//! | recipient over 1,000 bytes, empty, or NUL/CR/LF in it | permanent | 5.1.3 (bad destination mailbox address syntax; qmail's "address too long for qq (#5.1.3)") |
//! | more recipients than the configured maximum | permanent | 5.5.3 (too many recipients) |
//! A damaged file (decode) is not a Failure but a `Damage` reason: the caller quarantines.

use std::fmt;

use status::{Failure, Result};

/// Longest envelope address accepted at add time (qmail documents 1,000).
pub const MAX_ADDRESS: usize = 1000;
/// Longest address after routing (virtualdomains may prepend a prefix).
pub const MAX_ROUTED_ADDRESS: usize = 2 * MAX_ADDRESS;
/// Default recipient limit per message.
pub const DEFAULT_MAX_RECIPIENTS: usize = 10_000;
/// Highest limit a configuration may set: it bounds every envelope file the queue reads.
pub const MAX_RECIPIENTS_CEILING: usize = 100_000;
/// Longest queue metadata file read back (envelope or channel list at the ceiling).
pub const MAX_META_FILE: u64 = ((MAX_RECIPIENTS_CEILING + 4) * (MAX_ROUTED_ADDRESS + 2)) as u64;

/// Sender and recipients, as bytes (addresses may be UTF-8 or anything but NUL/CR/LF).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Envelope {
    pub sender: Vec<u8>,
    pub recipients: Vec<Vec<u8>>,
}

/// Why a queue file could not be read back; the message gets quarantined with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage(pub String);

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Refuses an envelope that breaks a limit (see the table above).
pub fn check(env: &Envelope, max_recipients: usize) -> Result<()> {
    check_sender(&env.sender)?;
    if env.recipients.len() > max_recipients {
        let n = env.recipients.len();
        return Err(Failure::perm("5.3", format!("too many recipients: {n}, the limit is {max_recipients}")));
    }
    env.recipients.iter().try_for_each(|r| check_recipient(r, MAX_ADDRESS))
}

fn check_sender(a: &[u8]) -> Result<()> {
    if a.len() > MAX_ADDRESS {
        return Err(Failure::perm("1.7", format!("envelope sender too long: {} bytes, the limit is {MAX_ADDRESS}", a.len())));
    }
    if let Some(c) = forbidden(a) {
        return Err(Failure::perm("1.7", format!("envelope sender contains {c}")));
    }
    Ok(())
}

/// A recipient: non-empty, at most `max` bytes, no NUL/CR/LF.
pub fn check_recipient(a: &[u8], max: usize) -> Result<()> {
    if a.is_empty() {
        return Err(Failure::perm("1.3", "empty recipient address"));
    }
    if a.len() > max {
        return Err(Failure::perm("1.3", format!("envelope recipient too long: {} bytes, the limit is {max}", a.len())));
    }
    if let Some(c) = forbidden(a) {
        return Err(Failure::perm("1.3", format!("envelope recipient contains {c}")));
    }
    Ok(())
}

fn forbidden(a: &[u8]) -> Option<&'static str> {
    a.iter().find_map(|b| match b {
        0 => Some("NUL"),
        b'\r' => Some("CR"),
        b'\n' => Some("LF"),
        _ => None,
    })
}

/// Encodes a checked envelope as an intd/todo file.
pub fn encode_todo(env: &Envelope, uid: u32, pid: u32) -> Vec<u8> {
    let size = 32 + env.sender.len() + env.recipients.iter().map(|r| r.len() + 2).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    record(&mut out, b'u', uid.to_string().as_bytes());
    record(&mut out, b'p', pid.to_string().as_bytes());
    record(&mut out, b'F', &env.sender);
    env.recipients.iter().for_each(|r| record(&mut out, b'T', r));
    out.push(0);
    out
}

fn record(out: &mut Vec<u8>, letter: u8, value: &[u8]) {
    out.push(letter);
    out.extend_from_slice(value);
    out.push(0);
}

/// A decoded todo file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Todo {
    pub uid: u32,
    pub pid: u32,
    pub envelope: Envelope,
}

/// Decodes a todo file; anything but the exact format is `Damage`.
pub fn decode_todo(bytes: &[u8]) -> std::result::Result<Todo, Damage> {
    let body = bytes.strip_suffix(&[0, 0]).ok_or_else(|| truncated(bytes))?;
    let mut todo = Todo { uid: 0, pid: 0, envelope: Envelope::default() };
    let mut sender_seen = false;
    for rec in body.split(|b| *b == 0) {
        let (letter, value) = rec.split_first().ok_or_else(|| Damage("empty record inside the envelope".into()))?;
        match letter {
            b'u' => todo.uid = number(value, "u")?,
            b'p' => todo.pid = number(value, "p")?,
            b'F' if !sender_seen => (todo.envelope.sender, sender_seen) = (value.to_vec(), true),
            b'T' if sender_seen => todo.envelope.recipients.push(value.to_vec()),
            other => return Err(Damage(format!("unexpected record {:?} in the envelope", char::from(*other)))),
        }
    }
    if !sender_seen {
        return Err(Damage("envelope has no sender record".into()));
    }
    Ok(todo)
}

fn truncated(bytes: &[u8]) -> Damage {
    Damage(format!("truncated envelope ({} bytes, no end marker)", bytes.len()))
}

fn number(value: &[u8], what: &str) -> std::result::Result<u32, Damage> {
    std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()).ok_or_else(|| Damage(format!("bad {what} record in the envelope")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(sender: &str, rcpts: &[&str]) -> Envelope {
        Envelope { sender: sender.into(), recipients: rcpts.iter().map(|r| r.as_bytes().to_vec()).collect() }
    }

    #[test]
    fn todo_round_trips_and_has_qmail_records() {
        let e = env("a@b", &["c@d", "e@f"]);
        let bytes = encode_todo(&e, 7, 42);
        assert_eq!(bytes, b"u7\0p42\0Fa@b\0Tc@d\0Te@f\0\0");
        assert_eq!(decode_todo(&bytes), Ok(Todo { uid: 7, pid: 42, envelope: e }));
    }

    #[test]
    fn empty_sender_and_no_recipients_are_valid() {
        let e = env("", &[]);
        assert!(check(&e, 10).is_ok());
        assert_eq!(decode_todo(&encode_todo(&e, 0, 1)).map(|t| t.envelope), Ok(e));
    }

    #[test]
    fn every_truncation_is_detected() {
        let bytes = encode_todo(&env("a@b", &["c@d"]), 1, 2);
        for cut in 0..bytes.len() {
            assert!(decode_todo(&bytes[..cut]).is_err(), "cut at {cut} went unnoticed");
        }
    }

    #[test]
    fn unknown_and_misplaced_records_are_damage() {
        assert!(decode_todo(b"u1\0p2\0Fa\0Xb\0\0").unwrap_err().0.contains("'X'"));
        assert!(decode_todo(b"u1\0p2\0Tb\0Fa\0\0").is_err(), "recipient before sender");
        assert!(decode_todo(b"u1\0p2\0\0").unwrap_err().0.contains("no sender"));
        assert!(decode_todo(b"uxy\0Fa\0\0").unwrap_err().0.contains("bad u"));
        assert!(decode_todo(b"Fa\0\0Tb\0\0").is_err(), "data after an empty record");
    }

    #[test]
    fn long_addresses_are_permanent_with_the_right_status() {
        let long = "x".repeat(MAX_ADDRESS + 1);
        let ok = "x".repeat(MAX_ADDRESS);
        assert!(check(&env(&ok, &[&ok]), 10).is_ok());
        let f = check(&env("a@b", &[&long]), 10).unwrap_err();
        assert_eq!((f.status.as_str(), f.is_temporary()), ("5.1.3", false));
        assert_eq!(check(&env(&long, &["c@d"]), 10).unwrap_err().status, "5.1.7");
    }

    #[test]
    fn nul_cr_lf_and_empty_recipient_are_refused() {
        for bad in ["a\0b", "a\rb", "a\nb"] {
            assert_eq!(check(&env("s@x", &[bad]), 10).unwrap_err().status, "5.1.3", "{bad:?}");
            assert_eq!(check(&env(bad, &["r@x"]), 10).unwrap_err().status, "5.1.7", "{bad:?}");
        }
        assert_eq!(check(&env("s@x", &[""]), 10).unwrap_err().status, "5.1.3");
    }

    #[test]
    fn too_many_recipients_is_5_5_3() {
        let rcpts: Vec<String> = (0..4).map(|i| format!("r{i}@x")).collect();
        let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
        assert!(check(&env("s@x", &refs), 4).is_ok());
        let f = check(&env("s@x", &refs), 3).unwrap_err();
        assert_eq!(f.status, "5.5.3");
        assert!(f.text.contains("limit is 3"));
    }
}
