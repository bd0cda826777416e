//! The N-API objects the core's SMTP service shares with TypeScript (bindings/src/
//! smtp_server.rs uses them): session settings and a direct recipient's target; and the
//! one queue per root every SMTP commit goes through (shared, so all sessions batch their
//! commits together). No logic: convert, call, convert back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use accept::Target;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use queue::Queue;
use smtp_proto::Settings;

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
    /// Ask at EHLO/HELO (an embedder's hook).
    pub ask_helo: Option<bool>,
}

/// The maildirs a direct recipient is written to, and its Return-Path + Delivered-To lines.
#[napi(object)]
pub struct DirectTarget {
    pub maildirs: Vec<String>,
    pub prefix: Buffer,
    /// The Delivered-To line without LF (the loop check).
    pub dtline: String,
    /// The files the route was read from, with their stat signatures: the core answers
    /// this recipient from this sender again itself while they stat the same (none: ask
    /// every time).
    pub guards: Vec<DirectGuard>,
}

/// A file a recipient's route was read from (crates/smtp-server rcpt_cache.rs).
#[napi(object)]
pub struct DirectGuard {
    pub path: String,
    /// "dev:ino:mode:size:mtimeNs:ctimeNs", or "" for a path that did not exist.
    pub seen: String,
}

pub(crate) static QUEUES: OnceLock<Mutex<HashMap<PathBuf, Queue>>> = OnceLock::new();

pub(crate) fn shared_queue(root: &Path) -> status::Result<Queue> {
    let mut map = QUEUES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(q) = map.get(root) {
        return Ok(q.clone());
    }
    let q = Queue::open(root, queue::Options::default())?;
    map.insert(root.to_path_buf(), q.clone());
    Ok(q)
}

pub(crate) fn to_settings(s: SmtpSettings) -> Settings {
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
        ask_helo: s.ask_helo.unwrap_or(d.ask_helo),
        ..d
    }
}

pub(crate) fn target(t: DirectTarget) -> Target {
    Target { maildirs: t.maildirs.into_iter().map(PathBuf::from).collect(), prefix: t.prefix.to_vec(), dtline: t.dtline.into_bytes() }
}
