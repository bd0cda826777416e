//! SASL pieces for AUTH PLAIN and LOGIN (RFC 4616, draft-murchison-sasl-login):
//! strict base64 decoding and the PLAIN message split.
//!
//! Failures (as SMTP replies made by the session): bad base64 -> 501 5.5.2; a PLAIN
//! message without two NULs, an identity or password that is not UTF-8 or holds a
//! control byte -> 501 5.5.2; an authorisation identity other than the user -> 535 5.7.8.

/// Decodes standard base64 with padding; `None` on any stray byte.
pub fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    if !input.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    for (n, quad) in input.chunks(4).enumerate() {
        let last = n + 1 == input.len() / 4;
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc: u32 = 0;
        for &b in &quad[..4 - pad] {
            acc = (acc << 6) | u32::from(value(b)?);
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

fn value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Why a credential was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CredentialError {
    Syntax,
    ForeignAuthzid,
}

/// Splits a PLAIN message "authzid NUL user NUL password" into (user, password).
pub fn split_plain(message: &[u8]) -> Result<(String, String), CredentialError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authz), Some(user), Some(pass), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(CredentialError::Syntax);
    };
    let user = text(user)?;
    if !authz.is_empty() && authz != user.as_bytes() {
        return Err(CredentialError::ForeignAuthzid);
    }
    Ok((user, text(pass)?))
}

/// A credential field: UTF-8, non-empty, no control bytes.
pub fn text(bytes: &[u8]) -> Result<String, CredentialError> {
    if bytes.is_empty() || bytes.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(CredentialError::Syntax);
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| CredentialError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(decode_base64(b"VXNlcm5hbWU6").unwrap(), b"Username:");
        assert_eq!(decode_base64(b"YQ==").unwrap(), b"a");
        assert_eq!(decode_base64(b"YWI=").unwrap(), b"ab");
        assert_eq!(decode_base64(b"").unwrap(), b"");
        assert!(decode_base64(b"YQ=").is_none());
        assert!(decode_base64(b"Y===").is_none());
        assert!(decode_base64(b"YQ==YQ==").is_none());
        assert!(decode_base64(b"Y!==").is_none());
    }

    #[test]
    fn plain_split() {
        assert_eq!(split_plain(b"\0bob\0pw").unwrap(), ("bob".into(), "pw".into()));
        assert_eq!(split_plain(b"bob\0bob\0pw").unwrap(), ("bob".into(), "pw".into()));
        assert_eq!(split_plain(b"eve\0bob\0pw"), Err(CredentialError::ForeignAuthzid));
        assert_eq!(split_plain(b"\0bob"), Err(CredentialError::Syntax));
        assert_eq!(split_plain(b"\0bob\0p\nw"), Err(CredentialError::Syntax));
    }
}
