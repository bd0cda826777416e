//! The fuzz body shared by the libFuzzer target (nightly) and the stable random loop.
//!
//! One input drives one session: the first byte chooses the settings, the next bytes are
//! cut into chunks (sizes taken from the input itself), and decisions are answered from
//! the input too (accept, refuse, temporary failure, malformed), so every path is reachable.
//! The body goes into crates/accept's Message, as in the core's SMTP server, so the layer
//! between the engine and the disk is fuzzed too.
//! Invariants checked: no panic; replies are whole CR LF-terminated lines with a 3-digit
//! code; no message stores more than databytes; the Message reads back exactly the bytes
//! the engine stored; the Delivered-To loop check reads any header; after close nothing
//! more is produced.

use std::io::Read;

use accept::{looping, Message, Target};
use smtp_proto::{BodySink, Decision, Reply, Session, Settings};
use status::Failure;

struct Sink {
    stored: Vec<u8>,
    message: Option<Message>,
    fail: bool,
}

impl BodySink for Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        if self.fail {
            return Err(Failure::temp("3.1", "disk full"));
        }
        self.stored.extend_from_slice(bytes);
        self.message.get_or_insert_with(|| Message::new(&std::env::temp_dir())).write(bytes)
    }
    fn abort(&mut self) {
        self.stored.clear();
        self.message = None;
    }
}

impl Sink {
    /// The end of a body: the Message holds what was stored; the loop check runs on it.
    fn end(&mut self, dtline: &[u8]) {
        if let Some(m) = self.message.take() {
            let mut back = Vec::new();
            m.reader().read_to_end(&mut back).expect("reading the message back");
            assert_eq!(back, self.stored, "the message differs from what the engine stored");
            let t = Target { maildirs: Vec::new(), prefix: Vec::new(), dtline: dtline.to_vec() };
            let _ = looping(m.head(), &t);
        }
        self.stored.clear();
    }
}

fn settings(flags: u8) -> Settings {
    Settings {
        databytes: if flags & 1 != 0 { 300 } else { 0 },
        max_text_line: if flags & 2 != 0 { 80 } else { 1000 },
        max_rcpts: 3,
        max_errors: if flags & 4 != 0 { 5 } else { 50 },
        max_held: 4096,
        starttls: flags & 8 != 0,
        tls: flags & 16 != 0,
        auth: flags & 32 != 0,
        auth_without_tls: flags & 64 != 0,
        chunking: flags & 128 == 0,
        etrn: flags & 4 != 0,
        ..Settings::default()
    }
}

fn answer_for(d: &Decision, pick: u8) -> Reply {
    match (pick % 5, d) {
        (0, _) => Reply::new(451, "4.3.0", "try later"),
        (1, _) => Reply::new(550, "5.7.1", "no"),
        (2, _) => Reply::new(250, "5.0.0", "malformed"),
        (_, Decision::Auth { .. }) => Reply::new(235, "2.7.0", "ok"),
        (_, Decision::DataStart { .. }) => Reply::new(354, "", "go"),
        (3, Decision::Etrn { .. }) => Reply::new(253, "2.0.0", "OK, 2 pending messages started"),
        _ => Reply::new(250, "2.0.0", "ok"),
    }
}

fn check_replies(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    assert!(bytes.ends_with(b"\r\n"), "reply not CR LF terminated");
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.len() >= 5 && line[..3].iter().all(u8::is_ascii_digit), "bad reply line {line:?}");
        assert!(line[3] == b' ' || line[3] == b'-');
        assert!(!line[..line.len() - 1].contains(&b'\r'), "CR inside a reply");
    }
}

/// Runs one fuzz input; panics when an invariant breaks.
pub fn exercise(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let s = settings(flags);
    let databytes = s.databytes;
    let mut session = Session::new(s);
    let mut sink = Sink { stored: Vec::new(), message: None, fail: flags & 2 != 0 && flags & 1 == 0 };
    let (mut input, mut closed, mut picks) = (rest, false, rest.iter().rev().copied().cycle());
    while !input.is_empty() {
        let n = (usize::from(input[0]) % 64 + 1).min(input.len());
        let (chunk, tail) = input.split_at(n);
        input = tail;
        let mut out = session.feed(chunk, &mut sink);
        loop {
            check_replies(&out.replies);
            assert!(!closed || out.replies.is_empty(), "output after close");
            closed |= out.close;
            if out.starttls {
                session.tls_started().expect("STARTTLS was said");
            }
            let Some(d) = out.decision else { break };
            if matches!(d, Decision::DataEnd { .. }) {
                // The policy side commits or drops this body now: databytes holds per message.
                sink.end(&rest[..rest.len().min(24)]);
            }
            out = session.answer(answer_for(&d, picks.next().unwrap_or(3)), &mut sink).expect("pending");
        }
        assert!(databytes == 0 || sink.stored.len() as u64 <= databytes, "stored past databytes");
    }
}
