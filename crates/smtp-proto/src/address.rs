//! MAIL FROM / RCPT TO arguments: the path and the ESMTP parameters (RFC 5321 §4.1.2,
//! RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8).
//!
//! Like qmail (§4.4): a source route (`@a,@b:`) is dropped, quotes and backslash escapes
//! are removed from the local part, a path without angle brackets is taken up to the
//! first space. Unlike qmail, and as user-needs §5 asks, addresses are validated: no
//! control bytes, at most 254 bytes, a domain made of name characters or an address
//! literal, a quoted local part may not hide an '@' (no routing through quoting),
//! non-ASCII only with SMTPUTF8 and only as UTF-8; only RCPT may name bare "postmaster".
//!
//! Failures (replies): wrong prefix or empty/bad path -> 501 5.5.4 / 5.1.7 (sender) /
//! 5.1.3 (recipient); non-ASCII without SMTPUTF8 -> 553 5.6.7; unknown parameter ->
//! 555 5.5.4; bad parameter value -> 501 5.5.4.

use crate::reply::Reply;

const MAX_ADDRESS: usize = 254;

/// Parameters of MAIL FROM that the session understands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    /// "7BIT" or "8BITMIME" when given.
    pub body: Option<String>,
    pub smtputf8: bool,
}

#[derive(Clone, Copy)]
enum Role {
    Sender,
    Recipient,
}

impl Role {
    fn syntax(self) -> Reply {
        match self {
            Role::Sender => Reply::new(501, "5.1.7", "bad sender address syntax"),
            Role::Recipient => Reply::new(501, "5.1.3", "bad recipient address syntax"),
        }
    }
}

/// Parses "FROM:<path> params"; returns the address ("" for the null sender) and params.
pub fn parse_mail(arg: &[u8]) -> Result<(String, MailParams), Reply> {
    let rest = strip_prefix(arg, b"FROM:")?;
    let (path, params) = split_path(rest, Role::Sender)?;
    let params = parse_mail_params(params)?;
    let address = normalise(path, params.smtputf8, Role::Sender)?;
    Ok((address, params))
}

/// Parses "TO:<path>"; `utf8` is whether the transaction announced SMTPUTF8.
pub fn parse_rcpt(arg: &[u8], utf8: bool) -> Result<String, Reply> {
    let rest = strip_prefix(arg, b"TO:")?;
    let (path, params) = split_path(rest, Role::Recipient)?;
    if params.iter().any(|&b| b != b' ') {
        return Err(Reply::new(555, "5.5.4", "RCPT parameters not supported"));
    }
    let address = normalise(path, utf8, Role::Recipient)?;
    if address.is_empty() {
        return Err(Role::Recipient.syntax());
    }
    Ok(address)
}

fn strip_prefix<'a>(arg: &'a [u8], prefix: &[u8]) -> Result<&'a [u8], Reply> {
    if arg.len() < prefix.len() || !arg[..prefix.len()].eq_ignore_ascii_case(prefix) {
        let word = String::from_utf8_lossy(prefix).into_owned();
        return Err(Reply::new(501, "5.5.4", format!("syntax: expected {word}<address>")));
    }
    Ok(trim_start(&arg[prefix.len()..]))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

/// Splits the path from the parameters; the path is what is inside the angle brackets.
fn split_path(s: &[u8], role: Role) -> Result<(&[u8], &[u8]), Reply> {
    if s.first() != Some(&b'<') {
        let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
        return Ok((&s[..end], &s[end..]));
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in s.iter().enumerate().skip(1) {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Ok((&s[1..i], &s[i + 1..])),
            _ => {}
        }
    }
    Err(role.syntax())
}

fn parse_mail_params(s: &[u8]) -> Result<MailParams, Reply> {
    let mut p = MailParams::default();
    for word in s.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(i) => (&word[..i], Some(&word[i + 1..])),
            None => (word, None),
        };
        let bad = || Reply::new(501, "5.5.4", "bad MAIL parameter value");
        match (key.to_ascii_uppercase().as_slice(), value) {
            (b"SIZE", Some(v)) if !v.is_empty() && v.len() <= 20 && v.iter().all(u8::is_ascii_digit) => {
                p.size = Some(std::str::from_utf8(v).ok().and_then(|v| v.parse().ok()).ok_or_else(bad)?);
            }
            (b"BODY", Some(v)) if v.eq_ignore_ascii_case(b"7BIT") || v.eq_ignore_ascii_case(b"8BITMIME") => {
                p.body = Some(String::from_utf8_lossy(v).to_ascii_uppercase());
            }
            (b"SMTPUTF8", None) => p.smtputf8 = true,
            (b"AUTH", Some(v)) if !v.is_empty() && v.iter().all(|&b| (0x21..0x7f).contains(&b)) => {}
            (b"SIZE" | b"BODY" | b"SMTPUTF8" | b"AUTH", _) => return Err(bad()),
            _ => return Err(Reply::new(555, "5.5.4", "unsupported MAIL parameter")),
        }
    }
    Ok(p)
}

/// The address as stored: source route dropped, local part unquoted, validated.
fn normalise(path: &[u8], utf8: bool, role: Role) -> Result<String, Reply> {
    if path.is_empty() {
        return match role {
            Role::Sender => Ok(String::new()),
            Role::Recipient => Err(role.syntax()),
        };
    }
    let path = drop_source_route(path).ok_or_else(|| role.syntax())?;
    let (local, domain) = split_local(path).ok_or_else(|| role.syntax())?;
    if local.is_empty() || local.contains(&b'@') || local.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(role.syntax());
    }
    let mut address = local;
    match domain {
        Some(d) if is_domain(d, utf8) => {
            address.push(b'@');
            address.extend_from_slice(d);
        }
        None if matches!(role, Role::Recipient) && address.eq_ignore_ascii_case(b"postmaster") => {}
        _ => return Err(role.syntax()),
    }
    finish(address, utf8, role)
}

fn finish(address: Vec<u8>, utf8: bool, role: Role) -> Result<String, Reply> {
    if address.len() > MAX_ADDRESS {
        return Err(role.syntax());
    }
    if !address.is_ascii() && !utf8 {
        return Err(Reply::new(553, "5.6.7", "non-ASCII address requires SMTPUTF8"));
    }
    String::from_utf8(address).map_err(|_| Reply::new(553, "5.6.7", "address is not UTF-8"))
}

fn drop_source_route(path: &[u8]) -> Option<&[u8]> {
    if path[0] != b'@' {
        return Some(path);
    }
    let colon = path.iter().position(|&b| b == b':')?;
    Some(&path[colon + 1..])
}

/// Splits at the '@' after the local part; the local part comes back unquoted.
fn split_local(path: &[u8]) -> Option<(Vec<u8>, Option<&[u8]>)> {
    if path.first() != Some(&b'"') {
        return Some(match path.iter().position(|&b| b == b'@') {
            Some(at) => (path[..at].to_vec(), Some(&path[at + 1..])),
            None => (path.to_vec(), None),
        });
    }
    let mut local = Vec::new();
    let mut i = 1;
    while i < path.len() {
        match path[i] {
            b'\\' if i + 1 < path.len() => {
                local.push(path[i + 1]);
                i += 2;
            }
            b'"' => return split_after_quote(local, &path[i + 1..]),
            b => {
                local.push(b);
                i += 1;
            }
        }
    }
    None
}

fn split_after_quote(local: Vec<u8>, rest: &[u8]) -> Option<(Vec<u8>, Option<&[u8]>)> {
    match rest.split_first() {
        None => Some((local, None)),
        Some((b'@', domain)) => Some((local, Some(domain))),
        _ => None,
    }
}

/// A host name (letters, digits, '-', '_', dots between labels; UTF-8 with SMTPUTF8) or an address literal.
fn is_domain(d: &[u8], utf8: bool) -> bool {
    if d.len() > 255 || d.is_empty() {
        return false;
    }
    if d[0] == b'[' {
        // Check the length before slicing: "[" alone must be refused, not panic (found by the fuzzer).
        return d.len() > 2
            && d[d.len() - 1] == b']'
            && d[1..d.len() - 1].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b':');
    }
    let name = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (utf8 && b >= 0x80);
    d.split(|&b| b == b'.').all(|label| !label.is_empty() && label.iter().all(|&b| name(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_paths() {
        assert_eq!(parse_mail(b"FROM:<a@b.c>").unwrap().0, "a@b.c");
        assert_eq!(parse_mail(b"from: <>").unwrap().0, "");
        assert_eq!(parse_mail(b"FROM:a@b.c SIZE=5").unwrap().1.size, Some(5));
        assert_eq!(parse_mail(b"FROM:<@r1,@r2:a@b.c>").unwrap().0, "a@b.c");
        assert_eq!(parse_mail(b"FROM:<\"x y\"@b.c> BODY=8bitmime").unwrap(), ("x y@b.c".into(), MailParams { body: Some("8BITMIME".into()), ..Default::default() }));
    }

    #[test]
    fn a_lone_bracket_domain_is_refused_not_a_panic() {
        // The fuzzer's crash input: MAIL FROM:<a@[> sliced d[1..0].
        assert!(parse_mail(b"FROM:<a@[>").is_err());
        assert!(parse_mail(b"FROM:<a@[]>").is_err());
        assert!(!is_domain(b"[", false));
        assert!(!is_domain(b"[]", false));
        assert!(is_domain(b"[127.0.0.1]", false));
    }

    #[test]
    fn mail_refusals() {
        assert_eq!(parse_mail(b"TO:<a@b>").unwrap_err().code, 501);
        assert_eq!(parse_mail(b"FROM:<a@b").unwrap_err().status, "5.1.7");
        assert_eq!(parse_mail(b"FROM:<a@b> FOO=1").unwrap_err().code, 555);
        assert_eq!(parse_mail(b"FROM:<a@b> SIZE=x").unwrap_err().code, 501);
        assert_eq!(parse_mail(b"FROM:<a@b> SIZE=99999999999999999999").unwrap_err().code, 501);
        assert_eq!(parse_mail(b"FROM:<\"a@evil\"@b.c>").unwrap_err().status, "5.1.7");
        assert_eq!(parse_mail(b"FROM:<a@b..c>").unwrap_err().status, "5.1.7");
        assert_eq!(parse_mail(b"FROM:<a\x01@b.c>").unwrap_err().status, "5.1.7");
        assert_eq!(parse_mail(b"FROM:<a@b c>").unwrap_err().status, "5.1.7");
        let long = [b"FROM:<".as_slice(), &[b'a'; 250], b"@b.cd>"].concat();
        assert_eq!(parse_mail(&long).unwrap_err().status, "5.1.7");
    }

    #[test]
    fn utf8_needs_smtputf8() {
        assert_eq!(parse_mail("FROM:<jö@b.c>".as_bytes()).unwrap_err().status, "5.6.7");
        assert_eq!(parse_mail("FROM:<jö@bü.c> SMTPUTF8".as_bytes()).unwrap().0, "jö@bü.c");
        assert_eq!(parse_rcpt("TO:<jö@b.c>".as_bytes(), true).unwrap(), "jö@b.c");
        assert_eq!(parse_rcpt(b"TO:<j\xff@b.c>", true).unwrap_err().code, 553);
    }

    #[test]
    fn rcpt_paths() {
        assert_eq!(parse_rcpt(b"TO:<Postmaster>", false).unwrap(), "Postmaster");
        assert_eq!(parse_rcpt(b"TO:<bob>", false).unwrap_err().status, "5.1.3");
        assert_eq!(parse_rcpt(b"TO:<>", false).unwrap_err().status, "5.1.3");
        assert_eq!(parse_rcpt(b"TO:<a@[127.0.0.1]>", false).unwrap(), "a@[127.0.0.1]");
        assert_eq!(parse_rcpt(b"TO:<a@b.c> NOTIFY=NEVER", false).unwrap_err().code, 555);
    }
}
