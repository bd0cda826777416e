//! The info and channel file formats, exactly qmail's (§2.2).
//!
//! info/<id>:            `F<sender>\0`                 (mtime = birth time)
//! local|remote/<id>:    `T<addr>\0` or `D<addr>\0`... (T = to do, D = done; mtime = next attempt)
//!
//! A done mark is the one-byte overwrite of a record's `T` by `D`, so each record's byte
//! offset is kept when decoding. Anything else in these files is `Damage`.

use crate::envelope::Damage;

/// Encodes info/<id>.
pub fn encode_info(sender: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sender.len() + 2);
    out.push(b'F');
    out.extend_from_slice(sender);
    out.push(0);
    out
}

/// Decodes info/<id> into the sender.
pub fn decode_info(bytes: &[u8]) -> Result<Vec<u8>, Damage> {
    let inner = bytes.strip_prefix(b"F").and_then(|b| b.strip_suffix(&[0]));
    match inner {
        Some(s) if !s.contains(&0) => Ok(s.to_vec()),
        _ => Err(Damage(format!("bad info file ({} bytes)", bytes.len()))),
    }
}

/// Encodes a fresh channel list: every recipient still to do.
pub fn encode_channel(recipients: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(recipients.iter().map(|r| r.len() + 2).sum());
    for r in recipients {
        out.push(b'T');
        out.extend_from_slice(r);
        out.push(0);
    }
    out
}

/// One record of a channel list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Byte offset of the record's letter: where a done mark is written.
    pub offset: u64,
    pub address: Vec<u8>,
    pub done: bool,
}

/// Decodes a channel list; a record without its NUL or with another letter is `Damage`.
pub fn decode_channel(bytes: &[u8]) -> Result<Vec<Entry>, Damage> {
    let mut entries = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let end = rest.iter().position(|b| *b == 0).ok_or_else(|| Damage(format!("truncated recipient list at byte {offset}")))?;
        let done = match rest[0] {
            b'T' => false,
            b'D' => true,
            other => return Err(Damage(format!("unexpected record {:?} in a recipient list at byte {offset}", char::from(other)))),
        };
        entries.push(Entry { offset: offset as u64, address: rest[1..end].to_vec(), done });
        offset += end + 1;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_and_refuses_junk() {
        assert_eq!(encode_info(b"a@b"), b"Fa@b\0");
        assert_eq!(decode_info(b"Fa@b\0"), Ok(b"a@b".to_vec()));
        assert_eq!(decode_info(b"F\0"), Ok(vec![]));
        for bad in [&b""[..], b"F", b"Fa@b", b"Ta@b\0", b"Fa\0b\0"] {
            assert!(decode_info(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn channel_round_trips_with_offsets() {
        let bytes = encode_channel(&[b"a@x".to_vec(), b"bb@y".to_vec()]);
        assert_eq!(bytes, b"Ta@x\0Tbb@y\0");
        let e = decode_channel(&bytes).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[1].offset, e[1].address.as_slice(), e[1].done), (5, &b"bb@y"[..], false));
        let mut marked = bytes.clone();
        marked[e[1].offset as usize] = b'D';
        assert!(decode_channel(&marked).unwrap()[1].done);
        assert_eq!(decode_channel(b""), Ok(vec![]));
    }

    #[test]
    fn channel_damage_is_reported() {
        assert!(decode_channel(b"Ta@x\0Tb").unwrap_err().0.contains("truncated"));
        assert!(decode_channel(b"Ta@x\0Xb\0").unwrap_err().0.contains("'X'"));
    }
}
