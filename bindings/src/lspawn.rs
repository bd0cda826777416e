//! N-API surface of crates/lspawn: the helper's loop (run by `qmta lspawn`, as root,
//! blocking its one thread until the daemon closes the pair) and the request encoder the
//! daemon uses. Failures throw through failure::to_napi.

use std::ffi::OsString;

use lspawn::{Kind, Request, Settings, SystemAccounts};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use status::Failure;

use crate::failure::{to_napi, Code};

/// Serves delivery requests on descriptor `control` until the daemon closes it; a
/// delivery child is killed `margin_s` seconds past its program time limit.
#[napi]
pub fn lspawn_serve(control: i32, node: String, script: String, queue_uid: u32, margin_s: u32) -> Result<(), napi::Error<Code>> {
    let env = ["PATH", "LANG", "LC_ALL", "TZ"].iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (OsString::from(k), v)))
        .collect();
    let margin = std::time::Duration::from_secs(u64::from(margin_s));
    let settings = Settings { node: node.into(), script: script.into(), queue_uid, env, margin };
    lspawn::serve(control, &settings, &SystemAccounts).map_err(|e| to_napi(Failure::from_io(&e, "delivery helper")))
}

#[napi(object)]
pub struct LspawnRequest {
    /// "local" or "pop3".
    pub kind: String,
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

/// The packet for a request (crates/lspawn frame.rs); refuses what the helper would.
#[napi]
pub fn encode_lspawn_request(r: LspawnRequest) -> Result<Buffer, napi::Error<Code>> {
    let kind = if r.kind == "pop3" { Kind::Pop3 } else { Kind::Local };
    let req = Request {
        kind, uid: r.uid, gid: r.gid, user: r.user, home: r.home, local: r.local, dash: r.dash, ext: r.ext,
        domain: r.domain, sender: r.sender, timeout_ms: r.timeout_ms,
    };
    let packet = req.encode();
    Request::decode(&packet).map_err(to_napi)?;
    Ok(packet.into())
}
