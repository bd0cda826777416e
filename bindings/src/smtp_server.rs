//! N-API surface of crates/smtp-server: the `SmtpServer` class (the core's SMTP listeners),
//! its rules, and its decision channel (smtp_channel.rs; the items cross as JSON:
//! smtp_items.rs).
//! No logic: convert, call, convert back.
//!
//! Failures: rules with a bad deny or relay client entry or an unreadable certificate, or a
//! runtime that cannot start -> QMTA_TEMP error (nothing changed); `listen` returns the
//! addresses it could not bind, with the reason.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accept::{Durability, Message};
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use smtp_proto::Reply;
use smtp_server::{Answer, Badmailfrom, Guard, Kind, MailRules, Network, Rules, Server, Wanted};
use status::Failure;

use crate::failure::{to_napi, Code};
use crate::promise::deferred;
use crate::smtp::{target, to_settings, DirectTarget, SmtpSettings};
use crate::smtp_channel::{Channel, Shape, Wake};

/// What the sessions follow (see crates/smtp-server rules.rs).
#[napi(object)]
pub struct SmtpServerRules {
    /// Named in every ask of a session admitted under these rules.
    pub generation: u32,
    pub session: SmtpSettings,
    /// Addresses or CIDR networks answered 554 at connect.
    pub deny: Vec<String>,
    pub max_connections: u32,
    pub max_per_ip: u32,
    pub timeout_ms: f64,
    pub session_limit_ms: f64,
    /// PEM files; absent: no STARTTLS, and smtps listeners cannot serve.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Ask the policy with each message's content before it is made durable (else only
    /// when the MAIL answer asks for it).
    pub ask_data: bool,
    /// Ask the policy before the greeting.
    pub ask_connect: bool,
    /// control/directsync fsync: fsync each file and new/ rather than syncing the filesystem.
    pub sync_each_file: Option<bool>,
    /// control/badmailfrom: MAIL FROM refused (553), checked in the core.
    pub badmailfrom: Vec<String>,
    /// control/relayclients: addresses or CIDR networks whose sessions are relay clients.
    pub relay_clients: Vec<String>,
    /// Ask the policy at every MAIL (an application's MAIL hook), not only a stranger's.
    pub ask_mail: bool,
    /// A relay client's or authenticated user's content goes to the policy (signing, a DATA hook).
    pub content_trusted: bool,
    /// Fault injection (tests only): a read starting with this text panics the session.
    pub panic_on: Option<String>,
}

#[napi(object)]
pub struct SmtpListen {
    /// smtp | submission | smtps
    pub kind: String,
    pub host: String,
    pub port: u32,
    /// A socket already bound to host:port (not listening), handed over to the core.
    pub fd: Option<i32>,
}

/// What an answer carries besides its reply, by the ask's shape.
#[napi(object)]
pub struct SmtpAnswerExtra {
    /// rcpt: deliver at accept time into these maildirs.
    pub direct: Option<DirectTarget>,
    /// auth: the authenticated name (with a 235).
    pub user: Option<String>,
    /// mail: this transaction's content is asked at its end (with a 250).
    pub content: Option<bool>,
    /// data: header lines to put before the Received line (with a 250).
    pub header: Option<Buffer>,
    /// data: the authserv-id whose Authentication-Results fields are left out of the message.
    pub drop_authserv: Option<String>,
}

/// A received message as the policy reads it: the Received line, then the body. Reads are
/// positional, so each reader (a check, a hook, the signer) keeps its own place.
#[napi]
pub struct MessageContent {
    message: Option<Arc<Message>>,
    header: Arc<Vec<u8>>,
}

#[napi]
impl MessageContent {
    /// At most `max` bytes from `position`; an empty Buffer at the end.
    #[napi]
    pub fn read_at(&self, position: f64, max: u32) -> napi::Result<Buffer> {
        use std::io::Read;
        let Some(message) = &self.message else { return Ok(Vec::new().into()) };
        let (pos, want, hl) = (position.max(0.0) as u64, max.clamp(1, 1 << 20) as usize, self.header.len() as u64);
        let mut out = vec![0u8; want];
        let n = if pos < hl {
            let rest = &self.header[pos as usize..];
            let n = rest.len().min(want);
            out[..n].copy_from_slice(&rest[..n]);
            n
        } else {
            message.reader_at(pos - hl).read(&mut out)?
        };
        out.truncate(n);
        Ok(out.into())
    }

    /// Bytes in all: the Received line and the body.
    #[napi(getter)]
    pub fn size(&self) -> f64 {
        (self.header.len() as u64 + self.message.as_ref().map_or(0, |m| m.size())) as f64
    }

    /// Lets go of the message before the garbage collector would (its memory or spool).
    #[napi]
    pub fn release(&mut self) {
        self.message = None;
    }
}

fn rules(r: SmtpServerRules) -> Result<Rules, String> {
    let deny = r.deny.iter().map(|d| Network::parse(d)).collect::<Result<_, _>>()?;
    let relay = r.relay_clients.iter().map(|d| Network::parse(d)).collect::<Result<_, _>>()?;
    let tls = match (r.tls_cert, r.tls_key) {
        (Some(c), Some(k)) => Some(smtp_server::tls::acceptor(&c, &k)?),
        _ => None,
    };
    let ms = |v: f64| Duration::from_millis(v.max(1.0) as u64);
    Ok(Rules {
        generation: u64::from(r.generation),
        session: to_settings(r.session), deny, max_connections: r.max_connections as usize, max_per_ip: r.max_per_ip as usize,
        timeout: ms(r.timeout_ms), session_limit: ms(r.session_limit_ms), tls, ask_data: r.ask_data, ask_connect: r.ask_connect,
        durability: if r.sync_each_file == Some(true) { Durability::EachFile } else { Durability::Filesystem },
        mail: MailRules { badmailfrom: Badmailfrom::new(&r.badmailfrom), relay, ask_always: r.ask_mail, content_trusted: r.content_trusted },
        panic_on: r.panic_on.map(String::into_bytes),
    })
}

fn temp(text: String) -> napi::Error<Code> {
    to_napi(Failure::temp("3.0", text))
}

fn answer(shape: Shape, reply: Reply, x: Option<SmtpAnswerExtra>) -> Answer {
    let mut x = x.unwrap_or(SmtpAnswerExtra { direct: None, user: None, content: None, header: None, drop_authserv: None });
    match shape {
        Shape::Reply => Answer::Reply(reply),
        Shape::Mail => Answer::Mail(reply, x.content.unwrap_or(false)),
        Shape::Rcpt => {
            let guards = x.direct.as_mut().map(|d| std::mem::take(&mut d.guards)).unwrap_or_default();
            Answer::Rcpt(reply, x.direct.map(target), guards.into_iter().map(|g| Guard { path: g.path, seen: g.seen }).collect())
        }
        Shape::Auth => Answer::Auth(reply, x.user),
        Shape::Data => {
            let header = x.header.map(|b| b.to_vec()).unwrap_or_default();
            Answer::Data((reply.code != 250).then_some(reply), header, x.drop_authserv)
        }
    }
}

#[napi(object)]
pub struct SmtpConnections {
    pub listener: String,
    /// accepted | refused_deny | refused_limit | refused_closing | tls_failed
    pub result: String,
    pub count: f64,
}

#[napi(object)]
pub struct SmtpSessionCounts {
    pub listener: String,
    pub total: f64,
    pub starttls: f64,
    pub open: f64,
}

#[napi(object)]
pub struct SmtpAuthCounts {
    pub mechanism: String,
    pub success: f64,
    pub failure: f64,
}

/// Cumulative counts (crates/smtp-server counters.rs), for the metrics exporter.
#[napi(object)]
pub struct SmtpCounters {
    pub connections: Vec<SmtpConnections>,
    pub sessions: Vec<SmtpSessionCounts>,
    /// [code, count] pairs for the replies at the end of a message.
    pub data_replies: Vec<Vec<f64>>,
    pub auth: Vec<SmtpAuthCounts>,
    pub received_bytes: f64,
    /// RCPTs the core answered again itself (a recipient's earlier answer, its files unchanged).
    pub rcpt_reused: f64,
    /// Session lengths: the bounds (s), the cumulative count at each, the sum (s) and count.
    pub session_bounds: Vec<f64>,
    pub session_cumulative: Vec<f64>,
    pub session_seconds: f64,
    pub session_count: f64,
}

/// The core's SMTP service for one queue.
#[napi]
pub struct SmtpServer {
    server: Server,
    channel: Arc<Channel>,
    /// The messages of data asks taken and not yet claimed by `content`.
    contents: Arc<Mutex<HashMap<u64, MessageContent>>>,
}

#[napi]
impl SmtpServer {
    /// A service (not listening yet) queueing into `queueRoot`; `wake` is called (with no
    /// arguments) whenever asks or events wait to be taken.
    #[napi(constructor)]
    pub fn new(rules_in: SmtpServerRules, queue_root: String, #[napi(ts_arg_type = "() => void")] wake: Wake) -> Result<Self, napi::Error<Code>> {
        let rules = rules(rules_in).map_err(temp)?;
        let queue = crate::smtp::shared_queue(Path::new(&queue_root)).map_err(to_napi)?;
        let channel = Arc::new(Channel::new(wake));
        let server = Server::new(channel.clone(), queue, rules).map_err(|e| temp(format!("starting the SMTP threads: {e}")))?;
        Ok(SmtpServer { server, channel, contents: Arc::default() })
    }

    /// New connections follow these rules from now on.
    #[napi]
    pub fn set_rules(&self, r: SmtpServerRules) -> Result<(), napi::Error<Code>> {
        self.server.set_rules(rules(r).map_err(temp)?);
        Ok(())
    }

    /// Makes the listeners those of `wanted`; returns what could not be bound, with why.
    #[napi]
    pub fn listen(&self, wanted: Vec<SmtpListen>) -> Vec<String> {
        let mut bad = Vec::new();
        let want: Vec<Wanted> = wanted
            .into_iter()
            .filter_map(|w| match (Kind::parse(&w.kind), u16::try_from(w.port)) {
                (Some(kind), Ok(port)) => Some(Wanted { kind, host: w.host, port, fd: w.fd }),
                _ => {
                    bad.push(format!("{} {}:{} (not a listener)", w.kind, w.host, w.port));
                    None
                }
            })
            .collect();
        bad.extend(self.server.apply(&want));
        bad
    }

    /// Starts accepting (after a privilege drop, when there is one).
    #[napi]
    pub fn start(&self) {
        self.server.start();
    }

    /// The bound listeners: kind, configured host, bound port.
    #[napi]
    pub fn addresses(&self) -> Vec<SmtpListen> {
        self.server.addresses().into_iter().map(|b| SmtpListen { kind: b.kind.name().into(), host: b.host, port: u32::from(b.port), fd: None }).collect()
    }

    /// The asks and events queued since the last call, as one JSON array (smtp_items.rs:
    /// one string crosses, and JSON.parse builds the objects far faster than property sets).
    #[napi]
    pub fn take(&self) -> String {
        let mut contents = self.contents.lock().unwrap_or_else(|p| p.into_inner());
        crate::smtp_items::batch(self.channel.take(), |id, message, header| {
            contents.insert(id, MessageContent { message: Some(message), header });
        })
    }

    /// The message of data ask `id` (once).
    #[napi]
    pub fn content(&self, id: f64) -> Option<MessageContent> {
        self.contents.lock().unwrap_or_else(|p| p.into_inner()).remove(&(id as u64))
    }

    /// Answers ask `id` (the reply as arguments: no object to read for most answers); an
    /// unknown id (the session is gone) is ignored.
    #[napi]
    pub fn answer(&self, id: f64, code: u32, status: String, text: String, extra: Option<SmtpAnswerExtra>) {
        if let Some((shape, responder)) = self.channel.responder(id as u64) {
            let reply = Reply { code: u16::try_from(code).unwrap_or(0), status, text };
            let _ = responder.send(answer(shape, reply, extra));
        }
    }

    #[napi]
    pub fn counters(&self) -> SmtpCounters {
        let s = self.server.counters();
        let n = |v: u64| v as f64;
        SmtpCounters {
            connections: s.connections.into_iter().map(|(k, a, c)| SmtpConnections { listener: k.name().into(), result: a.label().into(), count: n(c) }).collect(),
            sessions: s.sessions.into_iter().map(|(k, total, tls, open)| SmtpSessionCounts { listener: k.name().into(), total: n(total), starttls: n(tls), open: n(open) }).collect(),
            data_replies: s.data_replies.into_iter().map(|(c, v)| vec![f64::from(c), n(v)]).collect(),
            auth: s.auth.into_iter().map(|(m, ok, bad)| SmtpAuthCounts { mechanism: m.into(), success: n(ok), failure: n(bad) }).collect(),
            received_bytes: n(s.received_bytes),
            rcpt_reused: n(s.rcpt_reused),
            session_bounds: smtp_server::SESSION_BOUNDS.to_vec(),
            session_cumulative: s.session_cumulative.into_iter().map(n).collect(),
            session_seconds: s.session_seconds,
            session_count: n(s.session_count),
        }
    }

    /// Stops accepting, lets messages in progress finish for up to `graceMs`, closes the
    /// rest; resolves when done (the channel then lets the process exit).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'e>(&self, env: &'e Env, grace_ms: f64) -> napi::Result<PromiseRaw<'e, ()>> {
        let (settle, promise) = deferred(env)?;
        let (channel, contents) = (self.channel.clone(), self.contents.clone());
        self.server.close(Duration::from_millis(grace_ms.max(0.0) as u64), move || {
            channel.close();
            contents.lock().unwrap_or_else(|p| p.into_inner()).clear();
            settle(Ok(()));
        });
        Ok(promise)
    }
}
