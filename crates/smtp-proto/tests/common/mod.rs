//! Test driver: feeds chunks to a session, answers decisions with a script, and records
//! the transcript (replies, decisions, body, flags) so runs can be compared.
#![allow(dead_code)]

use smtp_proto::{BodySink, Decision, Reply, Session, Settings};
use status::Failure;

#[derive(Default, Debug, PartialEq, Eq)]
pub struct Collect {
    pub body: Vec<u8>,
    pub aborts: usize,
    pub fail_writes: bool,
}

impl BodySink for Collect {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        if self.fail_writes {
            return Err(Failure::temp("3.1", "disk full"));
        }
        self.body.extend_from_slice(bytes);
        Ok(())
    }
    fn abort(&mut self) {
        self.aborts += 1;
    }
}

#[derive(Default, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub replies: Vec<u8>,
    pub decisions: Vec<Decision>,
    pub sink: Collect,
    pub closed: bool,
    pub starttls: bool,
}

impl Transcript {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.replies).into_owned()
    }
    /// Reply codes in order.
    pub fn codes(&self) -> Vec<u16> {
        self.text().lines().filter(|l| l.len() > 3 && l.as_bytes()[3] == b' ').map(|l| l[..3].parse().unwrap()).collect()
    }
}

/// Answers every decision positively.
pub fn accept_all(d: &Decision) -> Reply {
    match d {
        Decision::Mail { .. } => Reply::new(250, "2.1.0", "sender ok"),
        Decision::Rcpt { .. } => Reply::new(250, "2.1.5", "recipient ok"),
        Decision::Auth { .. } => Reply::new(235, "2.7.0", "authenticated"),
        Decision::DataStart { .. } => Reply::new(354, "", "go"),
        Decision::DataEnd { .. } => Reply::new(250, "2.0.0", "queued"),
        Decision::Etrn { domain } => Reply::new(250, "2.0.0", format!("OK, queuing for node {domain} started")),
        Decision::Helo { .. } => Reply::new(250, "2.0.0", "hello"),
    }
}

pub struct Driver {
    pub session: Session,
    pub t: Transcript,
}

impl Driver {
    pub fn new(settings: Settings) -> Self {
        Driver { session: Session::new(settings), t: Transcript::default() }
    }

    /// Feeds one chunk and answers decisions until the session needs input.
    pub fn feed(&mut self, chunk: &[u8], answer: &mut dyn FnMut(&Decision) -> Reply) {
        let mut out = self.session.feed(chunk, &mut self.t.sink);
        loop {
            self.t.replies.extend_from_slice(&out.replies);
            self.t.closed |= out.close;
            self.t.starttls |= out.starttls;
            let Some(d) = out.decision else { break };
            let reply = answer(&d);
            self.t.decisions.push(d);
            out = self.session.answer(reply, &mut self.t.sink).expect("decision pending");
        }
    }
}

/// Runs a whole dialogue split into the given chunks.
pub fn run(settings: &Settings, chunks: &[&[u8]]) -> Transcript {
    let mut d = Driver::new(settings.clone());
    for c in chunks {
        d.feed(c, &mut accept_all);
    }
    d.t
}

/// Every reply line past the greeting carries an enhanced status, except EHLO/HELO lines and 3xx.
pub fn assert_statuses(t: &Transcript) {
    for line in t.text().lines() {
        let code = &line[..3];
        if code.starts_with('3') || line[4..].contains("hello") || code == "250" && !line[4..].contains('.') {
            continue;
        }
        let status = line[4..].split(' ').next().unwrap();
        assert!(status.starts_with(&code[..1]) && status.split('.').count() == 3, "no status in {line:?}");
    }
}
