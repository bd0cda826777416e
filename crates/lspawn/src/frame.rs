//! The request frame: one SOCK_SEQPACKET packet of NUL-terminated fields, qmail's
//! "text0" style: kind, uid, gid, user, home, local, dash, ext, domain, sender,
//! timeout (ms). Every field is bounded; numbers are decimal without sign; the home is an
//! absolute path without `.`/`..` components or empty ones.
//! Constraint shared with ts/lspawn/client.ts, which builds requests through `encode`.

use status::Failure;

/// Largest packet the helper reads.
pub const MAX_PACKET: usize = 8192;
const FIELDS: usize = 11;
const MAX_HOME: usize = 4096;
const MAX_TEXT: usize = 1024;
const MAX_USER: usize = 64;

/// What the child does: a qmail-local run, or a POP3 session's TRANSACTION state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Local,
    Pop3,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub home: String,
    pub local: String,
    pub dash: String,
    pub ext: String,
    pub domain: String,
    pub sender: String,
    pub timeout_ms: u32,
}

fn bad(why: impl Into<String>) -> Failure {
    Failure::temp("3.0", format!("malformed request to the delivery helper: {}", why.into()))
}

fn number(f: &[u8], name: &str) -> Result<u32, Failure> {
    if f.is_empty() || f.len() > 10 || !f.iter().all(u8::is_ascii_digit) {
        return Err(bad(format!("{name} is not a number")));
    }
    std::str::from_utf8(f).ok().and_then(|s| s.parse().ok()).ok_or_else(|| bad(format!("{name} out of range")))
}

fn text(f: &[u8], name: &str, max: usize) -> Result<String, Failure> {
    if f.len() > max {
        return Err(bad(format!("{name} longer than {max} bytes")));
    }
    if f.iter().any(|&b| b == b'\n' || b == b'\r') {
        return Err(bad(format!("{name} holds a line break")));
    }
    String::from_utf8(f.to_vec()).map_err(|_| bad(format!("{name} is not UTF-8")))
}

fn home(f: &[u8]) -> Result<String, Failure> {
    let h = text(f, "home", MAX_HOME)?;
    let clean = h.starts_with('/') && h.len() > 1 && !h.ends_with('/') && h[1..].split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if !clean {
        return Err(bad("home is not a clean absolute path"));
    }
    Ok(h)
}

impl Request {
    /// Decodes one packet; anything unexpected is a temporary failure naming it.
    pub fn decode(packet: &[u8]) -> Result<Request, Failure> {
        if packet.len() > MAX_PACKET {
            return Err(bad("packet too long"));
        }
        let Some(body) = packet.strip_suffix(b"\0") else { return Err(bad("packet does not end with NUL")) };
        let f: Vec<&[u8]> = body.split(|&b| b == 0).collect();
        if f.len() != FIELDS {
            return Err(bad(format!("{} fields, not {FIELDS}", f.len())));
        }
        let kind = match f[0] {
            b"local" => Kind::Local,
            b"pop3" => Kind::Pop3,
            _ => return Err(bad("unknown kind")),
        };
        let user = text(f[3], "user", MAX_USER)?;
        if user.is_empty() {
            return Err(bad("empty user"));
        }
        Ok(Request {
            kind,
            uid: number(f[1], "uid")?,
            gid: number(f[2], "gid")?,
            user,
            home: home(f[4])?,
            local: text(f[5], "local", MAX_TEXT)?,
            dash: text(f[6], "dash", 1)?,
            ext: text(f[7], "ext", MAX_TEXT)?,
            domain: text(f[8], "domain", 255)?,
            sender: text(f[9], "sender", MAX_TEXT)?,
            timeout_ms: number(f[10], "timeout")?,
        })
    }

    /// The packet for this request (what `decode` reads back).
    pub fn encode(&self) -> Vec<u8> {
        let kind = match self.kind {
            Kind::Local => "local",
            Kind::Pop3 => "pop3",
        };
        let (uid, gid, t) = (self.uid.to_string(), self.gid.to_string(), self.timeout_ms.to_string());
        let fields = [kind, &uid, &gid, &self.user, &self.home, &self.local, &self.dash, &self.ext, &self.domain, &self.sender, &t];
        let mut out = Vec::new();
        for f in fields {
            out.extend_from_slice(f.as_bytes());
            out.push(0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Request {
        Request {
            kind: Kind::Local, uid: 1001, gid: 1001, user: "alice".into(), home: "/home/alice".into(), local: "alice-x".into(),
            dash: "-".into(), ext: "x".into(), domain: "example.org".into(), sender: "a@b.c".into(), timeout_ms: 5000,
        }
    }

    #[test]
    fn encode_then_decode_is_the_same_request() {
        let r = sample();
        assert_eq!(Request::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn malformed_frames_are_temporary_failures() {
        let good = sample().encode();
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            good[..good.len() - 1].to_vec(),
            [&good[..], b"extra\0"].concat(),
            String::from_utf8(good.clone()).unwrap().replace("1001", "-1").into_bytes(),
            String::from_utf8(good.clone()).unwrap().replace("1001", "99999999999").into_bytes(),
            String::from_utf8(good.clone()).unwrap().replace("/home/alice", "/home/../root").into_bytes(),
            String::from_utf8(good.clone()).unwrap().replace("/home/alice", "home/alice").into_bytes(),
            String::from_utf8(good.clone()).unwrap().replace("a@b.c", "a@b.c\r\nX").into_bytes(),
            String::from_utf8(good.clone()).unwrap().replace("local", "shell").into_bytes(),
            vec![b'x'; MAX_PACKET + 1],
        ];
        for c in cases {
            let f = Request::decode(&c).unwrap_err();
            assert_eq!(f.status, "4.3.0", "{c:?}");
            assert!(f.text.starts_with("malformed request"), "{}", f.text);
        }
    }
}
