//! N-API surface of crates/smtp-proto: one `SmtpSession` object per SMTP connection.
//!
//! Few crossings per chunk: `feed(chunk)` returns one `SmtpStep` (all replies as one
//! Buffer, at most one decision, close/starttls flags); `answer(code, status, text)`
//! resumes after a decision. Body bytes never reach JS: `openBody(header)` starts the
//! message (crates/accept: memory, then a spool file) and keeps the header lines to
//! prepend (the Received line); the session's sink pours decoded DATA/BDAT bytes into it;
//! `commit(sender, recipients, extra)` writes the direct recipients' maildirs and queues
//! the others (crates/accept) on the core's threads and resolves with the report once all
//! of it is durable; `dropBody()` aborts.
//!
//! Failures: commit failures reject the promise with QMTA_TEMP/QMTA_PERM (failure.rs);
//! `answer` without a pending decision or `tlsStarted` without STARTTLS -> QMTA_PERM
//! 5.5.0 (a broken contract, a bug). Queues are opened once per root and shared by every
//! session (one group-commit pool).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use accept::{Accepted, Message, Recipient, Report, Target};
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use queue::Queue;
use smtp_proto::{BodySink, Decision, Mechanism, Output, Reply, Session, Settings};
use status::Failure;

use crate::failure::{to_napi, Code};
use crate::promise::deferred;

// Spelled out as `Result<..>`: napi-derive recognises a fallible export by that name.
type Error = napi::Error<Code>;

/// Session settings; absent fields take smtp-proto's defaults.
#[napi(object)]
pub struct SmtpSettings {
    pub hostname: String,
    /// 0 = unlimited.
    pub databytes: Option<f64>,
    pub max_command_line: Option<u32>,
    pub max_auth_line: Option<u32>,
    pub max_text_line: Option<u32>,
    pub max_rcpts: Option<u32>,
    pub max_errors: Option<u32>,
    pub max_hops: Option<u32>,
    pub starttls: Option<bool>,
    pub tls: Option<bool>,
    pub auth: Option<bool>,
    pub auth_without_tls: Option<bool>,
    pub chunking: Option<bool>,
    /// Offer ETRN (RFC 1985); the `etrn` decision then carries `domain`.
    pub etrn: Option<bool>,
}

/// A decision, flattened: `kind` is mail | rcpt | auth | dataStart | dataEnd | etrn.
#[napi(object)]
pub struct SmtpDecision {
    pub kind: String,
    pub address: Option<String>,
    pub size: Option<f64>,
    pub body: Option<String>,
    pub smtputf8: Option<bool>,
    pub mechanism: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub bdat: Option<bool>,
    pub hops: Option<u32>,
    pub refusal_code: Option<u32>,
    pub refusal_status: Option<String>,
    pub refusal_text: Option<String>,
    pub domain: Option<String>,
}

/// What one feed/answer produced.
#[napi(object)]
pub struct SmtpStep {
    pub replies: Buffer,
    pub decision: Option<SmtpDecision>,
    pub close: bool,
    pub starttls: bool,
}

/// A recipient as the policy routed it: delivered at accept time when `direct` is given.
#[napi(object)]
pub struct SmtpRecipient {
    pub address: String,
    pub direct: Option<DirectTarget>,
}

/// The maildirs a direct recipient is written to, and its Return-Path + Delivered-To lines.
#[napi(object)]
pub struct DirectTarget {
    pub maildirs: Vec<String>,
    pub prefix: Buffer,
    /// The Delivered-To line without LF (the loop check).
    pub dtline: String,
}

/// What a commit did: `delivered`/`fallback` name recipients by their index.
#[napi(object)]
pub struct CommitReport {
    /// The id the logs give the direct deliveries ("" when there were none).
    pub id: String,
    pub bytes: f64,
    pub delivered: Vec<DeliveredTo>,
    pub fallback: Vec<FallbackOf>,
    pub queued: Option<QueuedAs>,
}

#[napi(object)]
pub struct DeliveredTo {
    pub index: u32,
    pub files: Vec<String>,
}

#[napi(object)]
pub struct FallbackOf {
    pub index: u32,
    pub status: String,
    pub text: String,
}

#[napi(object)]
pub struct QueuedAs {
    pub id: String,
    pub recipients: Vec<u32>,
}

/// The sink: the message being received, if any, with the header lines it will get.
struct MessageSink {
    queue: Queue,
    message: Option<Message>,
    header: Vec<u8>,
}

impl BodySink for MessageSink {
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

static QUEUES: OnceLock<Mutex<HashMap<PathBuf, Queue>>> = OnceLock::new();

fn shared_queue(root: &Path) -> status::Result<Queue> {
    let mut map = QUEUES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(q) = map.get(root) {
        return Ok(q.clone());
    }
    let q = Queue::open(root, queue::Options::default())?;
    map.insert(root.to_path_buf(), q.clone());
    Ok(q)
}

fn to_settings(s: SmtpSettings) -> Settings {
    let d = Settings::default();
    let size = |v: Option<u32>, default: usize| v.map_or(default, |v| v as usize);
    Settings {
        hostname: s.hostname,
        databytes: s.databytes.map_or(d.databytes, |v| v.max(0.0) as u64),
        max_command_line: size(s.max_command_line, d.max_command_line),
        max_auth_line: size(s.max_auth_line, d.max_auth_line),
        max_text_line: size(s.max_text_line, d.max_text_line),
        max_rcpts: size(s.max_rcpts, d.max_rcpts),
        max_errors: s.max_errors.unwrap_or(d.max_errors),
        max_hops: s.max_hops.unwrap_or(d.max_hops),
        starttls: s.starttls.unwrap_or(d.starttls),
        tls: s.tls.unwrap_or(d.tls),
        auth: s.auth.unwrap_or(d.auth),
        auth_without_tls: s.auth_without_tls.unwrap_or(d.auth_without_tls),
        chunking: s.chunking.unwrap_or(d.chunking),
        etrn: s.etrn.unwrap_or(d.etrn),
        ..d
    }
}

fn empty_decision(kind: &str) -> SmtpDecision {
    SmtpDecision {
        kind: kind.into(),
        address: None,
        size: None,
        body: None,
        smtputf8: None,
        mechanism: None,
        user: None,
        password: None,
        bdat: None,
        hops: None,
        refusal_code: None,
        refusal_status: None,
        refusal_text: None,
        domain: None,
    }
}

fn decision(d: Decision) -> SmtpDecision {
    match d {
        Decision::Mail { address, size, body, smtputf8 } => SmtpDecision {
            address: Some(address),
            size: size.map(|n| n as f64),
            body,
            smtputf8: Some(smtputf8),
            ..empty_decision("mail")
        },
        Decision::Rcpt { address } => SmtpDecision { address: Some(address), ..empty_decision("rcpt") },
        Decision::Auth { mechanism, user, password } => SmtpDecision {
            mechanism: Some(if mechanism == Mechanism::Plain { "PLAIN" } else { "LOGIN" }.into()),
            user: Some(user),
            password: Some(password),
            ..empty_decision("auth")
        },
        Decision::DataStart { bdat } => SmtpDecision { bdat: Some(bdat), ..empty_decision("dataStart") },
        Decision::DataEnd { size, hops, refusal } => SmtpDecision {
            size: Some(size as f64),
            hops: Some(hops),
            refusal_code: refusal.as_ref().map(|r| u32::from(r.code)),
            refusal_status: refusal.as_ref().map(|r| r.status.clone()),
            refusal_text: refusal.map(|r| r.text),
            ..empty_decision("dataEnd")
        },
        Decision::Etrn { domain } => SmtpDecision { domain: Some(domain), ..empty_decision("etrn") },
    }
}

fn step(o: Output) -> SmtpStep {
    SmtpStep { replies: o.replies.into(), decision: o.decision.map(decision), close: o.close, starttls: o.starttls }
}

fn target(t: DirectTarget) -> Target {
    Target { maildirs: t.maildirs.into_iter().map(PathBuf::from).collect(), prefix: t.prefix.to_vec(), dtline: t.dtline.into_bytes() }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn report(r: Report) -> CommitReport {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    CommitReport {
        id: if r.id == 0 { String::new() } else { r.id.to_string() },
        bytes: r.bytes as f64,
        delivered: r.delivered.into_iter().map(|(i, files)| DeliveredTo { index: index(i), files: files.into_iter().map(path).collect() }).collect(),
        fallback: r.fallback.into_iter().map(|(i, f)| FallbackOf { index: index(i), status: f.status, text: f.text }).collect(),
        queued: r.queued.map(|(id, rs)| QueuedAs { id: id.to_string(), recipients: rs.into_iter().map(index).collect() }),
    }
}

/// One SMTP server session bound to a queue.
#[napi]
pub struct SmtpSession {
    session: Session,
    sink: MessageSink,
}

#[napi]
impl SmtpSession {
    /// A session with `settings`, queueing into the queue at `queueRoot`.
    #[napi(constructor)]
    pub fn new(settings: SmtpSettings, queue_root: String) -> Result<Self, Error> {
        let queue = shared_queue(Path::new(&queue_root)).map_err(to_napi)?;
        let sink = MessageSink { queue, message: None, header: Vec::new() };
        Ok(SmtpSession { session: Session::new(to_settings(settings)), sink })
    }

    /// The 220 greeting line.
    #[napi]
    pub fn greeting(&self) -> Buffer {
        self.session.greeting().into()
    }

    /// The EHLO/HELO name given, if any (for the Received header).
    #[napi]
    pub fn helo(&self) -> Option<String> {
        self.session.helo().map(str::to_string)
    }

    /// Takes a socket chunk.
    #[napi]
    pub fn feed(&mut self, chunk: &[u8]) -> SmtpStep {
        step(self.session.feed(chunk, &mut self.sink))
    }

    /// Answers the pending decision.
    #[napi]
    pub fn answer(&mut self, code: u32, status: String, text: String) -> Result<SmtpStep, Error> {
        let reply = Reply { code: u16::try_from(code).unwrap_or(0), status, text };
        self.session.answer(reply, &mut self.sink).map(step).map_err(to_napi)
    }

    /// Starts the next body; `header` (the Received line) is prepended when it is stored.
    #[napi]
    pub fn open_body(&mut self, header: &[u8]) {
        self.sink.message = Some(Message::new(self.sink.queue.root()));
        self.sink.header = header.to_vec();
    }

    /// Throws away the body being received, if any.
    #[napi]
    pub fn drop_body(&mut self) {
        self.sink.abort();
    }

    /// Delivers the body to the direct recipients and queues it for the others, with
    /// `extra` header lines before the Received line; resolves once all is durable.
    #[napi(ts_return_type = "Promise<CommitReport>")]
    pub fn commit<'e>(&mut self, env: &'e Env, sender: String, recipients: Vec<SmtpRecipient>, extra: Option<&[u8]>) -> napi::Result<PromiseRaw<'e, CommitReport>> {
        let (settle, promise) = deferred(env)?;
        let Some(message) = self.sink.message.take() else {
            settle(Err(Failure::temp("3.0", "no message body to commit")));
            return Ok(promise);
        };
        let mut header = extra.map(<[u8]>::to_vec).unwrap_or_default();
        header.append(&mut self.sink.header);
        let recipients = recipients.into_iter().map(|r| Recipient { address: r.address, direct: r.direct.map(target) }).collect();
        let accepted = Accepted { message, header, sender, recipients };
        accept::commit(accepted, &self.sink.queue, move |r| settle(r.map(report)));
        Ok(promise)
    }

    /// The TLS handshake after STARTTLS finished: the session resets (RFC 3207).
    #[napi]
    pub fn tls_started(&mut self) -> Result<(), Error> {
        self.sink.abort();
        self.session.tls_started().map_err(to_napi)
    }
}
