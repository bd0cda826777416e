//! N-API surface of crates/smtp-proto: one `SmtpSession` object per SMTP connection.
//!
//! Few crossings per chunk: `feed(chunk)` returns one `SmtpStep` (all replies as one
//! Buffer, at most one decision, close/starttls flags); `answer(code, status, text)`
//! resumes after a decision. Body bytes never reach JS: `openBody(prefix)` creates the
//! queue writer (crates/queue) and writes the Received header; the session's sink pours
//! decoded DATA/BDAT bytes into it; `commit(sender, recipients)` makes it durable on the
//! queue's group-commit threads and resolves with the message id; `dropBody()` aborts.
//!
//! Failures: opening the queue or the writer -> QMTA_TEMP/QMTA_PERM error (failure.rs);
//! commit failures reject the promise the same way; `answer` without a pending decision
//! or `tlsStarted` without STARTTLS -> QMTA_PERM 5.5.0 (a broken contract, a bug).
//! Queues are opened once per root and shared by every session (one group-commit pool).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, JsError};
use napi_derive::napi;
use queue::{Envelope, Queue, Writer};
use smtp_proto::{BodySink, Decision, Mechanism, Output, Reply, Session, Settings};
use status::Failure;

use crate::failure::{to_napi, Code};

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

/// The sink: the queue writer of the message being received, if any.
struct QueueSink {
    queue: Queue,
    writer: Option<Writer>,
}

impl BodySink for QueueSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        match self.writer.as_mut() {
            Some(w) => w.write(bytes),
            None => Err(Failure::temp("3.0", "no message body open")),
        }
    }

    fn abort(&mut self) {
        if let Some(w) = self.writer.take() {
            w.abort();
        }
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

/// Settles a commit on the JS thread: a Failure rejects with QMTA_TEMP/QMTA_PERM.
fn settle(env: &Env, r: status::Result<u64>) -> napi::Result<String> {
    r.map(|id| id.to_string()).map_err(|f| napi::Error::from(JsError::from(to_napi(f)).into_unknown(*env)))
}

type Resolver = Box<dyn FnOnce(Env) -> napi::Result<String> + Send>;

/// One SMTP server session bound to a queue.
#[napi]
pub struct SmtpSession {
    session: Session,
    sink: QueueSink,
}

#[napi]
impl SmtpSession {
    /// A session with `settings`, queueing into the queue at `queueRoot`.
    #[napi(constructor)]
    pub fn new(settings: SmtpSettings, queue_root: String) -> Result<Self, Error> {
        let queue = shared_queue(Path::new(&queue_root)).map_err(to_napi)?;
        Ok(SmtpSession { session: Session::new(to_settings(settings)), sink: QueueSink { queue, writer: None } })
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

    /// Opens the queue writer for the next body and writes `prefix` (the Received header).
    #[napi]
    pub fn open_body(&mut self, prefix: &[u8]) -> Result<(), Error> {
        self.sink.abort();
        let mut w = self.sink.queue.create_writer().map_err(to_napi)?;
        w.write(prefix).map_err(to_napi)?;
        self.sink.writer = Some(w);
        Ok(())
    }

    /// Throws away the body being written, if any.
    #[napi]
    pub fn drop_body(&mut self) {
        self.sink.abort();
    }

    /// Commits the body with its envelope; resolves with the message id once durable.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn commit<'e>(&mut self, env: &'e Env, sender: String, recipients: Vec<String>) -> napi::Result<Object<'e>> {
        let (deferred, promise) = env.create_deferred::<String, Resolver>()?;
        let envelope = Envelope { sender: sender.into_bytes(), recipients: recipients.into_iter().map(String::into_bytes).collect() };
        match self.sink.writer.take() {
            Some(w) => w.commit_async(envelope, move |r| deferred.resolve(Box::new(move |env| settle(&env, r)))),
            None => deferred.resolve(Box::new(|env| settle(&env, Err(Failure::temp("3.0", "no message body to commit"))))),
        }
        Ok(promise)
    }

    /// The TLS handshake after STARTTLS finished: the session resets (RFC 3207).
    #[napi]
    pub fn tls_started(&mut self) -> Result<(), Error> {
        self.sink.abort();
        self.session.tls_started().map_err(to_napi)
    }
}
