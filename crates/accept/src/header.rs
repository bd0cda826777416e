//! Header fields removed while a message is written: the Authentication-Results fields that
//! claim our own authserv-id (RFC 8601 §5: a receiver removes forged results that claim
//! to be its own before it adds its own).
//!
//! Interface: `claimed(head, authserv_id) -> Vec<Range<u64>>`: the byte ranges (whole fields,
//! continuation lines included) of the header in `head` to leave out; the message's
//! `reader_without` skips them.
//! Rule (ts/inbound/data.ts claimsAuthservId is the same): a field named
//! Authentication-Results (any case) whose value's first token, past white space and
//! (nested) comments, equals the authserv-id ignoring case. ARC-Authentication-Results is
//! not touched. Only the header section in `head` is looked at (the first 64 KiB of a
//! spooled message: a header longer than that keeps what lies beyond).

use std::ops::Range;

/// The ranges of the Authentication-Results fields in `head`'s header that claim `authserv_id`.
pub fn claimed(head: &[u8], authserv_id: &str) -> Vec<Range<u64>> {
    fields(head)
        .filter(|r| claims(&head[r.start as usize..r.end as usize], authserv_id.as_bytes()))
        .collect()
}

/// The header's fields as byte ranges (continuation lines joined), up to the empty line.
fn fields(head: &[u8]) -> impl Iterator<Item = Range<u64>> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= head.len() || head[pos] == b'\n' {
            return None;
        }
        let start = pos;
        loop {
            let end = head[pos..].iter().position(|&b| b == b'\n').map_or(head.len(), |i| pos + i + 1);
            pos = end;
            if pos >= head.len() || !matches!(head[pos], b' ' | b'\t') {
                return Some(start as u64..pos as u64);
            }
        }
    })
}

const NAME: &[u8] = b"authentication-results:";

fn claims(field: &[u8], id: &[u8]) -> bool {
    if field.len() < NAME.len() || !field[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return false;
    }
    let value = skip_cfws(&field[NAME.len()..]);
    let token_end = value.iter().position(|&b| matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b'(')).unwrap_or(value.len());
    !id.is_empty() && value[..token_end].eq_ignore_ascii_case(id)
}

/// Skips white space and comments (nested, with quoted pairs) at the start of `v`.
fn skip_cfws(mut v: &[u8]) -> &[u8] {
    loop {
        match v.first() {
            Some(b' ' | b'\t' | b'\r' | b'\n') => v = &v[1..],
            Some(b'(') => v = after_comment(v),
            _ => return v,
        }
    }
}

fn after_comment(v: &[u8]) -> &[u8] {
    let mut depth = 0usize;
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return &v[i + 1..];
                }
            }
            _ => {}
        }
        i += 1;
    }
    &v[v.len()..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(head: &[u8], id: &str) -> Vec<u8> {
        let drop = claimed(head, id);
        let mut out = Vec::new();
        let mut at = 0usize;
        for r in drop {
            out.extend_from_slice(&head[at..r.start as usize]);
            at = r.end as usize;
        }
        out.extend_from_slice(&head[at..]);
        out
    }

    #[test]
    fn forged_results_claiming_our_id_go_with_their_continuations() {
        let head = b"Received: x\nAuthentication-Results: MX.Example.ORG;\n\tspf=pass smtp.mailfrom=a@b\nauthentication-results: (forged) (and (nested)) mx.example.org; dkim=pass\nAuthentication-Results: other.example; spf=fail\nARC-Authentication-Results: i=1; mx.example.org; spf=pass\nSubject: s\n\nAuthentication-Results: mx.example.org; in the body\n";
        assert_eq!(kept(head, "mx.example.org"), b"Received: x\nAuthentication-Results: other.example; spf=fail\nARC-Authentication-Results: i=1; mx.example.org; spf=pass\nSubject: s\n\nAuthentication-Results: mx.example.org; in the body\n".to_vec());
    }

    #[test]
    fn a_longer_or_shorter_id_is_someone_else() {
        let head = b"Authentication-Results: mx.example.org.evil; x\nAuthentication-Results: mx.example; x\n\n";
        assert!(claimed(head, "mx.example.org").is_empty());
        assert!(claimed(head, "").is_empty());
    }

    #[test]
    fn a_header_cut_short_is_read_as_far_as_it_goes() {
        assert_eq!(claimed(b"Authentication-Results: mx; a", "mx"), vec![0..29]);
        assert_eq!(claimed(b"Authentication-Results: (unclosed comment", "mx"), vec![]);
    }
}
