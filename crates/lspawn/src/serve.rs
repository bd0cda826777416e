//! The helper's loop: one packet at a time from the daemon's end of the pair, each with
//! two descriptors: the reply socket (the child's stdout; for POP3 also its stdin) and,
//! for a delivery, the open message file (the child's stdin). The message must be a
//! regular file owned by the queue's account: the helper never opens a path.
//! A refusal is written on the reply socket (JSON for a delivery, an -ERR line for POP3)
//! and on stderr. The loop ends when the daemon closes its end.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use privilege::{recv_with_fds, spawn_as, Identity, Launch};
use status::Failure;

use crate::check::{authorize, Accounts};
use crate::frame::{Kind, Request, MAX_PACKET};

/// What every child gets from the helper itself (never from a request).
pub struct Settings {
    /// The node binary and qmta's command script.
    pub node: OsString,
    pub script: OsString,
    /// The uid the queue's files belong to (the daemon's account).
    pub queue_uid: u32,
    /// PATH, LANG, LC_ALL, TZ as the helper was started with.
    pub env: Vec<(OsString, OsString)>,
}

/// Serves requests until the daemon closes `control`.
pub fn serve(control: RawFd, settings: &Settings, accounts: &dyn Accounts) -> std::io::Result<()> {
    loop {
        let (packet, fds) = match recv_with_fds(control, MAX_PACKET, 2) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                eprintln!("qmta lspawn: refused a packet: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        if packet.is_empty() && fds.is_empty() {
            return Ok(());
        }
        if let Err((f, kind, reply)) = handle(&packet, fds, settings, accounts) {
            eprintln!("qmta lspawn: refused: {f}");
            if let Some(reply) = reply {
                answer(&reply, kind, &f);
            }
        }
    }
}

type Refusal = (Failure, Kind, Option<OwnedFd>);

fn handle(packet: &[u8], fds: Vec<OwnedFd>, s: &Settings, accounts: &dyn Accounts) -> Result<u32, Refusal> {
    let mut fds = fds.into_iter();
    let (reply, input) = (fds.next(), fds.next());
    let req = match Request::decode(packet) {
        Ok(r) => r,
        Err(f) => return Err((f, Kind::Local, reply)),
    };
    let Some(reply) = reply else { return Err((Failure::temp("3.0", "request without a reply socket"), req.kind, None)) };
    let target = match authorize(&req, accounts) {
        Ok(t) => t,
        Err(f) => return Err((f, req.kind, Some(reply))),
    };
    let stdin = match (req.kind, input) {
        (Kind::Local, Some(m)) if is_queue_file(&m, s.queue_uid) => m,
        (Kind::Local, _) => return Err((Failure::temp("3.0", "the message is not a queue file"), req.kind, Some(reply))),
        (Kind::Pop3, _) => match reply.try_clone() {
            Ok(r) => r,
            Err(e) => return Err((Failure::from_io(&e, "dup"), req.kind, Some(reply))),
        },
    };
    let launch = Launch { program: s.node.clone(), args: args(s, &req), env: s.env.clone(), stdin, stdout: reply };
    let who = Identity { uid: target.uid, gid: target.gid, groups: target.groups };
    spawn_as(&who, launch).map_err(|e| (Failure::from_io(&e, "starting the delivery as its owner"), req.kind, None))
}

fn is_queue_file(fd: &OwnedFd, queue_uid: u32) -> bool {
    fd.try_clone().map(std::fs::File::from).and_then(|f| f.metadata()).is_ok_and(|m| m.is_file() && m.uid() == queue_uid)
}

/// qmail-local's argv after `--`: user homedir local dash ext domain sender.
fn args(s: &Settings, r: &Request) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![s.script.clone()];
    match r.kind {
        Kind::Local => {
            a.extend(["local-run", "--", &r.timeout_ms.to_string()].map(OsString::from));
            a.extend([&r.user, &r.home, &r.local, &r.dash, &r.ext, &r.domain, &r.sender].map(OsString::from));
        }
        Kind::Pop3 => a.extend(["pop3-run", "--", &r.user, &r.home].map(OsString::from)),
    }
    a
}

/// The refusal in the form the daemon reads on that socket.
fn answer(reply: &OwnedFd, kind: Kind, f: &Failure) {
    let text = match kind {
        Kind::Local => format!("{{\"outcome\":{{\"kind\":\"temp\",\"status\":\"{}\",\"text\":\"{}\"}}}}\n", f.status, json(&f.text)),
        Kind::Pop3 => format!("-ERR [SYS/TEMP] {}\r\n", f.text),
    };
    if let Ok(w) = reply.try_clone() {
        let _ = std::fs::File::from(w).write_all(text.as_bytes());
    }
}

fn json(s: &str) -> String {
    s.chars().flat_map(|c| match c {
        '"' => vec!['\\', '"'],
        '\\' => vec!['\\', '\\'],
        c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
        c => vec![c],
    }).collect()
}
