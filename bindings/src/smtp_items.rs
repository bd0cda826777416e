//! The decision channel's items as one JSON array per batch: every ask and event of the
//! core's SMTP sessions, flattened (`type` says which fields are set; absent fields are left
//! out). Constraint shared with ts/native.ts (SmtpItem, its TypeScript twin): the field
//! names and meanings.
//!
//! A data ask's message does not fit JSON: it is handed to `keep` (the bindings keep it for
//! `SmtpServer.content(id)`) and the item says `content: true`.

use std::net::IpAddr;
use std::sync::Arc;

use accept::{Message, Report};
use serde::{Serialize, Serializer};
use smtp_server::{Ask, Event, Peer};

use crate::smtp_channel::Item;

#[derive(Serialize)]
struct Tls {
    protocol: String,
    cipher: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivered {
    index: usize,
    files: Vec<String>,
}

#[derive(Serialize)]
struct Fallback {
    index: usize,
    status: String,
    text: String,
}

#[derive(Serialize)]
struct Queued {
    id: String,
    recipients: Vec<usize>,
}

#[derive(Serialize)]
struct CommitReport {
    id: String,
    bytes: u64,
    delivered: Vec<Delivered>,
    fallback: Vec<Fallback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<Queued>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsonItem {
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    sid: u64,
    listener: &'static str,
    ip: String,
    transaction: u32,
    /// The session's other fields: asks only (event_peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relay_client: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<Tls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    helo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ehlo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtputf8: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mechanism: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipients: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<CommitReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    millis: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replies: Option<Vec<(u16, u32)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// Room for one item's JSON, so that most batches are written without growing the buffer
/// (each growth a copy of all written so far). Measured on a 4 KiB message to one user: an
/// accepted event, with its maildir file's path, about 320 bytes; a closed one 150; an RCPT
/// ask 260.
const ITEM_BYTES: usize = 384;

/// The batch as a JSON array; data asks' messages go to `keep(id, message, header)`. Each
/// item is written as it is made: no array of items is built first.
pub fn batch(items: Vec<Item>, mut keep: impl FnMut(u64, Arc<Message>, Arc<Vec<u8>>)) -> String {
    let mut out = Vec::with_capacity(items.len() * ITEM_BYTES);
    let json = items.into_iter().map(|i| match i {
        Item::Ask { id, peer, ask } => ask_item(id, peer, ask, &mut keep),
        Item::Event(e) => event_item(e),
    });
    match serde_json::Serializer::new(&mut out).collect_seq(json) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "[]".into()),
        Err(_) => "[]".into(),
    }
}

/// The local address as the client reached it (a dual-stack listener sees IPv4 as mapped).
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// An ask's session: all the policy side and the hooks may look at.
fn peer_item(kind: &'static str, id: Option<u64>, mut p: Peer) -> JsonItem {
    let helo = p.helo.take();
    JsonItem {
        id, generation: Some(p.generation), port: Some(p.port), local_ip: Some(canonical(p.local.ip()).to_string()),
        local_port: Some(p.local.port()), relay_client: Some(p.relay), helo,
        ..event_peer(kind, p)
    }
}

/// An event's session: what its log line, the scheduler and the direct record use (ts/smtpd
/// events.ts); a fifth fewer bytes than an ask's session in each of a message's two events.
fn event_peer(kind: &'static str, p: Peer) -> JsonItem {
    JsonItem {
        r#type: kind, sid: p.sid, listener: p.kind.name(), ip: p.ip.to_string(), transaction: p.transaction,
        tls: p.tls.map(|t| Tls { protocol: t.protocol, cipher: t.cipher }), user: p.user,
        ..JsonItem::default()
    }
}

fn ask_item(id: u64, peer: Peer, ask: Ask, keep: &mut impl FnMut(u64, Arc<Message>, Arc<Vec<u8>>)) -> JsonItem {
    match ask {
        Ask::Connect => peer_item("connect", Some(id), peer),
        Ask::Helo { name, ehlo } => JsonItem { name: Some(name), ehlo: Some(ehlo), ..peer_item("helo", Some(id), peer) },
        Ask::Mail { address, size, body, smtputf8 } => {
            JsonItem { address: Some(address), size, body, smtputf8: Some(smtputf8), ..peer_item("mail", Some(id), peer) }
        }
        Ask::Rcpt { sender, address, accepted } => {
            JsonItem { sender: Some(sender), address: Some(address), recipients: Some(accepted), ..peer_item("rcpt", Some(id), peer) }
        }
        Ask::Auth { mechanism, user, password } => {
            JsonItem { mechanism: Some(mechanism), login: Some(user), password: Some(password), ..peer_item("auth", Some(id), peer) }
        }
        Ask::Etrn { domain } => JsonItem { domain: Some(domain), ..peer_item("etrn", Some(id), peer) },
        Ask::Data { sender, recipients, message, header } => {
            let size = header.len() as u64 + message.size();
            keep(id, message, header);
            JsonItem { sender: Some(sender), recipients: Some(recipients), size: Some(size), content: Some(true), ..peer_item("data", Some(id), peer) }
        }
    }
}

fn event_item(e: Event) -> JsonItem {
    match e {
        Event::Accepted { peer, sender, recipients, report: r } => {
            JsonItem { sender: Some(sender), recipients: Some(recipients), report: Some(report(r)), ..event_peer("accepted", peer) }
        }
        Event::Failed { peer, sender, recipients, failure } => JsonItem {
            sender: Some(sender), size: Some(recipients as u64), status: Some(failure.status), text: Some(failure.text),
            ..event_peer("failed", peer)
        },
        Event::Closed { peer, accepted, millis, replies } => {
            JsonItem { accepted: Some(accepted), millis: Some(millis), replies: Some(replies), ..event_peer("closed", peer) }
        }
        Event::Error { peer, text } => JsonItem { text: Some(text), ..event_peer("error", peer) },
    }
}

fn report(r: Report) -> CommitReport {
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    CommitReport {
        id: if r.id == 0 { String::new() } else { r.id.to_string() },
        bytes: r.bytes,
        delivered: r.delivered.into_iter().map(|(index, files)| Delivered { index, files: files.into_iter().map(path).collect() }).collect(),
        fallback: r.fallback.into_iter().map(|(index, f)| Fallback { index, status: f.status, text: f.text }).collect(),
        queued: r.queued.map(|(id, recipients)| Queued { id: id.to_string(), recipients }),
    }
}
