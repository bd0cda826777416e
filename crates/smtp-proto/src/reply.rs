//! SMTP replies: code, RFC 3463 enhanced status, text; and their wire form.
//!
//! Every 2xx/4xx/5xx reply carries its enhanced status (RFC 2034). The exceptions are
//! the ones RFC 2034 and RFC 3463 make: the greeting and the EHLO/HELO reply (whose lines
//! are keywords), and the 3xx intermediate replies (354, 334), which have no status class.
//! Text coming from the policy side is sanitised: any control byte becomes '?', so a
//! reply can never carry a CR or LF (no reply injection).

/// One SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// "2.1.0"; empty for 3xx replies.
    pub status: String,
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Self {
        Reply { code, status: status.to_string(), text: text.into() }
    }

    /// True for 2xx and 3xx: the command was accepted.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// Checks that the code is 2xx-5xx and that the status class agrees with it.
    pub fn is_well_formed(&self) -> bool {
        if !(200..600).contains(&self.code) {
            return false;
        }
        let class = char::from(b'0' + (self.code / 100) as u8);
        match class {
            '3' => self.status.is_empty(),
            _ => self.status.starts_with(class) && is_status(&self.status),
        }
    }

    /// Appends the wire form ("250 2.0.0 text\r\n") to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.code.to_string().as_bytes());
        out.push(b' ');
        if !self.status.is_empty() {
            out.extend_from_slice(self.status.as_bytes());
            out.push(b' ');
        }
        push_text(out, self.text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends text with every control byte replaced by '?', bounded to 400 bytes.
pub fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text.iter().take(400) {
        out.push(if b < 0x20 || b == 0x7f { b'?' } else { b });
    }
}

fn is_status(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Appends a multi-line reply: "250-first\r\n250-...\r\n250 last\r\n".
pub fn write_multiline(out: &mut Vec<u8>, code: u16, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        out.extend_from_slice(code.to_string().as_bytes());
        out.push(if i + 1 == lines.len() { b' ' } else { b'-' });
        push_text(out, line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_and_sanitising() {
        let mut out = Vec::new();
        Reply::new(550, "5.1.1", "no\r\nsuch user").write_to(&mut out);
        Reply::new(354, "", "go").write_to(&mut out);
        assert_eq!(out, b"550 5.1.1 no??such user\r\n354 go\r\n");
    }

    #[test]
    fn well_formedness() {
        assert!(Reply::new(250, "2.1.0", "ok").is_well_formed());
        assert!(Reply::new(354, "", "go").is_well_formed());
        assert!(!Reply::new(250, "4.1.0", "x").is_well_formed());
        assert!(!Reply::new(199, "1.0.0", "x").is_well_formed());
        assert!(!Reply::new(550, "5.1", "x").is_well_formed());
    }
}
