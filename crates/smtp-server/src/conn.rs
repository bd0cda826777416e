//! One SMTP session on the core's threads: moves bytes between the socket and the sans-I/O
//! engine (smtp-proto), asks the policy side what only it can decide (a stranger's MAIL,
//! RCPT, AUTH, ETRN, and the content when the rules say so), and makes each message durable
//! through crates/accept before its 250.
//!
//! Batching: each socket read is fed whole; the replies produced while its decisions are
//! answered go out in one write. Nothing more is read while a decision is pending or a
//! write is blocked (a client that never reads its replies stops being read: bounded).
//! Decided here, without the policy side: MAIL's own checks, and the whole MAIL of a relay
//! client or an authenticated user (mail.rs); DATA/BDAT start (the body opens with the
//! Received line: received.rs), and the end of a body (its refusal, or the commit). Asked
//! only when wanted: the connection before the greeting and EHLO/HELO (rules: an embedder's
//! hooks), and the content at the end of a body (the MAIL answer or the rules say so).
//!
//! Failures: a policy answer that never comes (dropped) or has the wrong shape -> 451
//! 4.3.0; the commit failing -> 451 with its status, or 554 when permanent (qmail-local's
//! loop check: 5.4.6); a panic in the engine -> 421 4.3.0 and close (reported as an
//! Error event), the server goes on. Read timeout and session limit -> 421 4.4.2; a failed
//! TLS handshake or any socket error ends the session; an open body is dropped.

use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use accept::{Accepted, Message, Recipient};
use smtp_proto::{BodySink, Decision, Mechanism, Output, Reply, Session};
use status::{Class, Failure};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::{sleep_until, timeout};

use crate::buffers::ReadBuffer;
use crate::counters::Admission;
use crate::io::{upgrade, Stream};
use crate::mail;
use crate::policy::{Answer, Ask, Event, Kind, Peer};
use crate::received::received;
use crate::rules::Rules;
use crate::server::{Core, Phase, Slot};

const HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(30);

/// The body being received and the lines it will get on top.
struct Sink {
    message: Option<Message>,
    header: Vec<u8>,
}

impl BodySink for Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        match self.message.as_mut() {
            Some(m) => m.write(bytes),
            None => Err(Failure::temp("3.0", "no message body open")),
        }
    }

    fn abort(&mut self) {
        self.message = None;
    }
}

struct Conn {
    core: Arc<Core>,
    rules: Arc<Rules>,
    session: Session,
    sink: Sink,
    peer: Peer,
    sender: String,
    rcpts: Vec<Recipient>,
    /// This transaction's content goes to the policy side (the MAIL answer said so).
    content: bool,
    accepted: u32,
    /// Reply codes sent, with counts (the session's log line; qmta stats reads it).
    replies: Vec<(u16, u32)>,
}

enum Flow {
    Continue,
    Close,
}

/// A connection's two ends as accept(2) and the listener tell them: no getpeername or
/// getsockname a connection.
pub(crate) struct Ends {
    /// The client's address, IPv4-mapped ones as IPv4.
    pub ip: IpAddr,
    pub port: u16,
    pub local: SocketAddr,
}

/// Serves one admitted connection to its end.
pub(crate) async fn serve(core: Arc<Core>, tcp: TcpStream, ends: Ends, kind: Kind, rules: Arc<Rules>, slot: Slot) {
    let _ = tcp.set_nodelay(true);
    let started = Instant::now();
    let Ends { ip, port, local } = ends;
    let peer = Peer { sid: core.sid(), kind, ip, port, local, tls: None, helo: None, user: None, generation: rules.generation, relay: rules.mail.relay_client(ip), transaction: 0 };
    let session = Session::new(rules.settings_for(kind));
    let sink = Sink { message: None, header: Vec::new() };
    let mut c = Conn { core: core.clone(), rules, session, sink, peer, sender: String::new(), rcpts: Vec::new(), content: false, accepted: 0, replies: Vec::new() };
    if let Some(mut io) = c.open(tcp).await {
        c.run(&mut io, started).await;
        io.shutdown().await;
    }
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    core.policy.tell(Event::Closed { peer: c.peer, accepted: c.accepted, millis, replies: c.replies });
    drop(slot);
}

impl Conn {
    /// The stream after the implicit-TLS handshake (smtps), with the greeting sent.
    async fn open(&mut self, tcp: TcpStream) -> Option<Stream> {
        let mut io = match (self.peer.kind, self.rules.tls.clone()) {
            (Kind::Smtps, Some(acceptor)) => match timeout(HANDSHAKE, upgrade(tcp, &acceptor)).await {
                Ok(Ok((io, info))) => {
                    self.peer.tls = Some(info);
                    io
                }
                _ => {
                    self.core.counters.connection(Kind::Smtps, Admission::TlsFailed);
                    return None;
                }
            },
            (Kind::Smtps, None) => return None,
            _ => Stream::Plain(tcp),
        };
        if self.rules.ask_connect {
            let r = self.ask_reply(Ask::Connect).await;
            if r.code != 220 {
                let mut bytes = Vec::new();
                r.write_to(&mut bytes);
                self.tally(&bytes);
                let _ = timeout(self.rules.timeout, io.write_all(&bytes)).await;
                return None;
            }
        }
        let greeting = self.session.greeting();
        self.tally(&greeting);
        io.write_all(&greeting).await.ok()?;
        Some(io)
    }

    async fn run(&mut self, io: &mut Stream, started: Instant) {
        let deadline = tokio::time::Instant::from_std(started + self.rules.session_limit);
        let mut phase = self.core.phase.subscribe();
        let mut buf = ReadBuffer::take();
        loop {
            let read = tokio::select! {
                r = timeout(self.rules.timeout, io.read(&mut buf)) => r,
                () = sleep_until(deadline) => return self.bye(io, "421 4.4.2 session time limit reached, closing").await,
                _ = phase.changed() => {
                    if self.stop_now(&phase) { return self.bye(io, "421 4.3.2 service shutting down, closing").await }
                    continue;
                }
            };
            let n = match read {
                Err(_) => return self.bye(io, "421 4.4.2 timeout, closing connection").await,
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(n)) => n,
            };
            let injected = self.rules.panic_on.as_deref().is_some_and(|p| buf[..n].starts_with(p));
            let out = match self.engine(|s, sink| if injected { panic!("injected fault") } else { s.feed(&buf[..n], sink) }) {
                Some(out) => out,
                None => return self.bye(io, "421 4.3.0 local error, closing").await,
            };
            if let Flow::Close = self.step(io, out).await {
                return;
            }
            if self.stop_now(&phase) {
                return self.bye(io, "421 4.3.2 service shutting down, closing").await;
            }
        }
    }

    /// Shutting down, and not in the middle of a message.
    fn stop_now(&self, phase: &watch::Receiver<Phase>) -> bool {
        match *phase.borrow() {
            Phase::Running => false,
            Phase::Draining => self.sink.message.is_none(),
            Phase::Stopped => true,
        }
    }

    async fn bye(&mut self, io: &mut Stream, line: &str) {
        let bytes = format!("{line}\r\n").into_bytes();
        self.tally(&bytes);
        let _ = timeout(self.rules.timeout, io.write_all(&bytes)).await;
    }

    /// Counts the code of each reply in `bytes` (its last line: "NNN " at a line start).
    fn tally(&mut self, bytes: &[u8]) {
        for line in bytes.split(|&b| b == b'\n') {
            let code = match line {
                [a, b, c, b' ', ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
                _ => continue,
            };
            match self.replies.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => self.replies.push((code, 1)),
            }
        }
    }

    /// Runs a call into the engine; a panic there (a bug) ends this session only.
    fn engine(&mut self, call: impl FnOnce(&mut Session, &mut Sink) -> Output) -> Option<Output> {
        let (session, sink) = (&mut self.session, &mut self.sink);
        match catch_unwind(AssertUnwindSafe(|| call(session, sink))) {
            Ok(out) => Some(out),
            Err(panic) => {
                let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                self.core.policy.tell(Event::Error { peer: self.peer.clone(), text });
                None
            }
        }
    }

    /// Answers the decisions of one output, writes its replies, then closes or upgrades.
    async fn step(&mut self, io: &mut Stream, mut out: Output) -> Flow {
        let mut replies = std::mem::take(&mut out.replies);
        let (mut close, mut starttls) = (out.close, out.starttls);
        while let Some(d) = out.decision.take() {
            let reply = self.decide(d).await;
            out = match self.engine(|s, sink| s.answer(reply, sink).unwrap_or_default()) {
                Some(o) => o,
                None => {
                    replies.extend_from_slice(b"421 4.3.0 local error, closing\r\n");
                    close = true;
                    break;
                }
            };
            replies.extend_from_slice(&out.replies);
            close |= out.close;
            starttls |= out.starttls;
        }
        self.tally(&replies);
        if !replies.is_empty() && timeout(self.rules.timeout, io.write_all(&replies)).await.map_or(true, |r| r.is_err()) {
            return Flow::Close;
        }
        if close {
            return Flow::Close;
        }
        if starttls {
            return self.upgrade(io).await;
        }
        Flow::Continue
    }

    /// STARTTLS said: the rest of the plaintext was thrown away by the engine.
    async fn upgrade(&mut self, io: &mut Stream) -> Flow {
        let Some(acceptor) = self.rules.tls.clone() else { return Flow::Close };
        let Stream::Plain(tcp) = std::mem::replace(io, Stream::Closed) else { return Flow::Close };
        match timeout(HANDSHAKE, upgrade(tcp, &acceptor)).await {
            Ok(Ok((tls, info))) => {
                *io = tls;
                self.peer.tls = Some(info);
                self.peer.helo = None;
                self.sink.abort();
                self.core.counters.starttls(self.peer.kind);
                if self.session.tls_started().is_err() {
                    return Flow::Close;
                }
                Flow::Continue
            }
            _ => Flow::Close,
        }
    }

    async fn decide(&mut self, d: Decision) -> Reply {
        self.peer.helo = self.session.helo().map(str::to_string);
        match d {
            Decision::Mail { address, size, body, smtputf8 } => {
                self.peer.transaction += 1;
                let (r, content) = match self.rules.mail.decide(&self.peer, &address) {
                    mail::Verdict::Reply(r, content) => (r, content),
                    mail::Verdict::Ask => match self.ask(Ask::Mail { address: address.clone(), size, body, smtputf8 }).await {
                        Answer::Mail(r, content) => (r, content),
                        other => (reply_of(other), false),
                    },
                };
                if r.is_positive() {
                    (self.sender, self.content) = (address, content);
                    self.rcpts.clear();
                }
                r
            }
            Decision::Helo { name, ehlo } => self.ask_reply(Ask::Helo { name, ehlo }).await,
            Decision::Rcpt { address } => self.rcpt(address).await,
            Decision::Auth { mechanism, user, password } => self.auth(mechanism, user, password).await,
            Decision::Etrn { domain } => self.ask_reply(Ask::Etrn { domain }).await,
            Decision::DataStart { bdat } => {
                self.sink.message = Some(Message::new(self.core.queue.root()));
                self.sink.header = received(&self.peer, &self.rules.session.hostname, SystemTime::now());
                if bdat { Reply::new(250, "2.0.0", "go ahead") } else { Reply::new(354, "", "go ahead") }
            }
            Decision::DataEnd { size, refusal, .. } => {
                let r = match refusal {
                    Some(r) => {
                        self.sink.abort();
                        self.rcpts.clear();
                        r
                    }
                    None => self.commit().await,
                };
                self.core.counters.data_reply(r.code, size);
                r
            }
        }
    }

    /// RCPT: the answer kept for this recipient and sender if it still holds, else the
    /// policy side's (kept when it says which files it read).
    async fn rcpt(&mut self, address: String) -> Reply {
        let generation = self.peer.generation;
        let (r, direct) = match self.core.rcpts.answer(generation, &self.sender, &address) {
            Some((r, target)) => {
                self.core.counters.rcpt_reused();
                (r, Some(target))
            }
            None => match self.ask(Ask::Rcpt { sender: self.sender.clone(), address: address.clone(), accepted: self.accepted_rcpts() }).await {
                Answer::Rcpt(r, direct, guards) => {
                    if let Some(target) = direct.as_ref().filter(|_| !guards.is_empty()) {
                        self.core.rcpts.keep(generation, &self.sender, &address, r.clone(), target.clone(), guards);
                    }
                    (r, direct)
                }
                other => return reply_of(other),
            },
        };
        if r.is_positive() {
            self.rcpts.push(Recipient { address, direct });
        }
        r
    }

    async fn auth(&mut self, mechanism: Mechanism, user: String, password: String) -> Reply {
        let mechanism = if mechanism == Mechanism::Plain { "PLAIN" } else { "LOGIN" };
        match self.ask(Ask::Auth { mechanism, user, password }).await {
            Answer::Auth(r, name) => {
                let ok = r.is_positive() && name.is_some();
                self.core.counters.auth(mechanism, ok);
                if ok {
                    self.peer.user = name;
                }
                r
            }
            other => reply_of(other),
        }
    }

    /// The end of an accepted body: the policy's content decision if asked, then durable.
    async fn commit(&mut self) -> Reply {
        let (Some(message), header) = (self.sink.message.take(), std::mem::take(&mut self.sink.header)) else {
            return local_error();
        };
        let recipients = std::mem::take(&mut self.rcpts);
        let message = Arc::new(message);
        let (mut extra, mut strip) = (Vec::new(), Vec::new());
        if self.rules.ask_data || std::mem::take(&mut self.content) {
            let addresses = recipients.iter().map(|r| r.address.clone()).collect();
            let header = Arc::new(header.clone());
            match self.ask(Ask::Data { sender: self.sender.clone(), recipients: addresses, message: message.clone(), header }).await {
                Answer::Data(Some(refusal), ..) => return refusal,
                Answer::Data(None, lines, drop) => {
                    extra = lines;
                    strip = drop.map(|id| accept::claimed(message.head(), &id)).unwrap_or_default();
                }
                other => return reply_of(other),
            }
        }
        extra.extend_from_slice(&header);
        let (tx, rx) = oneshot::channel();
        let (sender, durability) = (self.sender.clone(), self.rules.durability);
        let accepted = Accepted { message, header: extra, strip, sender, recipients: recipients.clone(), durability };
        accept::commit(accepted, &self.core.queue, move |r| {
            let _ = tx.send(r);
        });
        let addresses: Vec<String> = recipients.into_iter().map(|r| r.address).collect();
        match rx.await {
            Ok(Ok(report)) => {
                self.accepted += 1;
                let id = if report.id != 0 { report.id } else { report.queued.as_ref().map_or(0, |q| q.0) };
                self.core.policy.tell(Event::Accepted { peer: self.peer.clone(), sender: self.sender.clone(), recipients: addresses, report });
                Reply::new(250, "2.0.0", format!("ok {id}"))
            }
            Ok(Err(f)) => {
                let r = failure_reply(&f);
                self.core.policy.tell(Event::Failed { peer: self.peer.clone(), sender: self.sender.clone(), recipients: addresses.len(), failure: f });
                r
            }
            Err(_) => local_error(),
        }
    }

    fn accepted_rcpts(&self) -> Vec<String> {
        self.rcpts.iter().map(|r| r.address.clone()).collect()
    }

    async fn ask(&self, ask: Ask) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.core.policy.ask(&self.peer, ask, tx);
        rx.await.unwrap_or_else(|_| Answer::Reply(local_error()))
    }

    async fn ask_reply(&self, ask: Ask) -> Reply {
        reply_of(self.ask(ask).await)
    }
}

/// The reply an answer carries when it has the plain shape; otherwise a local error.
fn reply_of(a: Answer) -> Reply {
    match a {
        Answer::Reply(r) => r,
        _ => local_error(),
    }
}

fn local_error() -> Reply {
    Reply::new(451, "4.3.0", "local error, try again later")
}

/// A local failure is a 4xx on the wire, always; only a permanent verdict (the loop
/// check) is a 5xx.
fn failure_reply(f: &Failure) -> Reply {
    match f.class {
        Class::Permanent => Reply::new(554, &f.status, f.text.clone()),
        Class::Temporary => Reply::new(451, "4.3.0", format!("local error queueing the message: {} (#{})", f.text, f.status)),
    }
}
