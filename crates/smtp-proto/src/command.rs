//! Command lines: the verb (case-insensitive, RFC 5321 §2.4) and its argument, plus the
//! small argument grammars that are not addresses (EHLO name, BDAT size, AUTH, ETRN).
//! A line reaches this module without its CR LF and is known to hold no CR or LF.

/// The commands the session knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth,
    /// RFC 1985 remote queue starting (502 unless offered).
    Etrn,
    /// Known but not offered (TURN, ATRN, ...): 502.
    Unimplemented,
    Unknown,
}

const VERBS: &[(&[u8], Verb)] = &[
    (b"HELO", Verb::Helo),
    (b"EHLO", Verb::Ehlo),
    (b"MAIL", Verb::Mail),
    (b"RCPT", Verb::Rcpt),
    (b"DATA", Verb::Data),
    (b"BDAT", Verb::Bdat),
    (b"RSET", Verb::Rset),
    (b"NOOP", Verb::Noop),
    (b"QUIT", Verb::Quit),
    (b"VRFY", Verb::Vrfy),
    (b"EXPN", Verb::Expn),
    (b"HELP", Verb::Help),
    (b"STARTTLS", Verb::StartTls),
    (b"AUTH", Verb::Auth),
    (b"TURN", Verb::Unimplemented),
    (b"ETRN", Verb::Etrn),
    (b"ATRN", Verb::Unimplemented),
    (b"SEND", Verb::Unimplemented),
    (b"SOML", Verb::Unimplemented),
    (b"SAML", Verb::Unimplemented),
];

/// Splits a line into its verb and the argument after the spaces that follow it.
pub fn split(line: &[u8]) -> (Verb, &[u8]) {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let word = &line[..end];
    let verb = VERBS.iter().find(|(w, _)| w.eq_ignore_ascii_case(word)).map_or(Verb::Unknown, |&(_, v)| v);
    let rest = &line[end..];
    let skip = rest.iter().take_while(|&&b| b == b' ').count();
    (verb, &rest[skip..])
}

/// True when the line starts with "AUTH " (its line may be longer than a command line).
pub fn is_auth_line(start: &[u8]) -> bool {
    start.len() >= 5 && start[..5].eq_ignore_ascii_case(b"AUTH ")
}

/// The EHLO/HELO name: printable ASCII or UTF-8, one word, at most 255 bytes.
pub fn helo_name(arg: &[u8]) -> Option<String> {
    let arg = trim_end(arg);
    if arg.is_empty() || arg.len() > 255 || arg.iter().any(|&b| b <= 0x20 || b == 0x7f) {
        return None;
    }
    String::from_utf8(arg.to_vec()).ok()
}

/// "BDAT size [LAST]" -> (size, last).
pub fn bdat_args(arg: &[u8]) -> Option<(u64, bool)> {
    let mut words = trim_end(arg).split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = words.next()?;
    if size.is_empty() || size.len() > 19 || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(size).ok()?.parse().ok()?;
    match (words.next(), words.next()) {
        (None, _) => Some((size, false)),
        (Some(w), None) if w.eq_ignore_ascii_case(b"LAST") => Some((size, true)),
        _ => None,
    }
}

/// "AUTH mechanism [initial-response]".
pub fn auth_args(arg: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut words = trim_end(arg).split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = words.next()?;
    let initial = words.next();
    if words.next().is_some() {
        return None;
    }
    Some((mechanism, initial))
}

/// ETRN's argument (RFC 1985 §5: `[option character]node`).
#[derive(Debug, PartialEq, Eq)]
pub enum EtrnArg {
    /// A plain host or domain name, lowercased.
    Domain(String),
    /// `@domain` (the domain and its subdomains) or `#queue` (a server queue name):
    /// well formed but not supported here.
    Option(u8),
}

/// Parses ETRN's argument: one word; a domain is LDH labels of 1-63 bytes, at most 253
/// bytes in all (RFC 1035 §2.3.1); `None` is a syntax error.
pub fn etrn_arg(arg: &[u8]) -> Option<EtrnArg> {
    let arg = trim_end(arg);
    let (&first, rest) = arg.split_first()?;
    if first == b'@' || first == b'#' {
        let word_ok = !rest.is_empty() && rest.len() <= 255 && rest.iter().all(|&b| b > 0x20 && b < 0x7f);
        return word_ok.then_some(EtrnArg::Option(first));
    }
    is_domain(arg).then(|| EtrnArg::Domain(String::from_utf8_lossy(arg).to_ascii_lowercase()))
}

fn is_domain(name: &[u8]) -> bool {
    let label = |l: &[u8]| {
        (1..=63).contains(&l.len())
            && l.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            && l[0] != b'-'
            && l[l.len() - 1] != b'-'
    };
    !name.is_empty() && name.len() <= 253 && name.split(|&b| b == b'.').all(label)
}

pub fn trim_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[..s.len() - n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_and_args() {
        assert_eq!(split(b"mail FROM:<a@b>"), (Verb::Mail, &b"FROM:<a@b>"[..]));
        assert_eq!(split(b"QUIT"), (Verb::Quit, &b""[..]));
        assert_eq!(split(b"StartTLS"), (Verb::StartTls, &b""[..]));
        assert_eq!(split(b"etrn x.example"), (Verb::Etrn, &b"x.example"[..]));
        assert_eq!(split(b"XYZZY 1").0, Verb::Unknown);
        assert_eq!(split(b"MAILFROM:<a@b>").0, Verb::Unknown);
    }

    #[test]
    fn bdat_grammar() {
        assert_eq!(bdat_args(b"100"), Some((100, false)));
        assert_eq!(bdat_args(b"0 last"), Some((0, true)));
        assert_eq!(bdat_args(b"10 LAST x"), None);
        assert_eq!(bdat_args(b"-1"), None);
        assert_eq!(bdat_args(b"99999999999999999999"), None);
        assert_eq!(bdat_args(b""), None);
    }

    #[test]
    fn etrn_grammar() {
        assert_eq!(etrn_arg(b"Dialup.Example "), Some(EtrnArg::Domain("dialup.example".into())));
        assert_eq!(etrn_arg(b"localhost"), Some(EtrnArg::Domain("localhost".into())));
        assert_eq!(etrn_arg(b"@dialup.example"), Some(EtrnArg::Option(b'@')));
        assert_eq!(etrn_arg(b"#queue1"), Some(EtrnArg::Option(b'#')));
        for bad in [&b""[..], b"@", b"#", b"two words", b"-x.example", b"x-.example", b"a..b", b"a.b.", b"[127.0.0.1]", b"a_b.c"] {
            assert_eq!(etrn_arg(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let long_label = [b'a'; 64];
        assert_eq!(etrn_arg(&long_label), None);
        let long_name = [&b"a."[..]; 127].concat();
        assert_eq!(etrn_arg(&long_name[..253]), Some(EtrnArg::Domain(String::from_utf8_lossy(&long_name[..253]).into())));
        assert_eq!(etrn_arg(&[&long_name[..], b"ab"].concat()), None);
    }

    #[test]
    fn helo_names() {
        assert_eq!(helo_name(b"mx.example.org").as_deref(), Some("mx.example.org"));
        assert_eq!(helo_name(b"[127.0.0.1]").as_deref(), Some("[127.0.0.1]"));
        assert!(helo_name(b"").is_none());
        assert!(helo_name(b"two words").is_none());
        assert!(helo_name(b"nul\0").is_none());
    }
}
