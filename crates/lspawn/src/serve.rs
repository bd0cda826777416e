//! The helper's loop: one packet at a time from the daemon's end of the pair, each with
//! two descriptors: the reply socket (the child's stdout; for POP3 also its stdin) and,
//! for a delivery, the open message file (the child's stdin). The message must be a
//! regular file owned by the queue's account: the helper never opens a path.
//! A refusal is written on the reply socket (JSON for a delivery, an -ERR line for POP3)
//! and on stderr. The loop ends when the daemon closes its end.
//! Each child is watched by a thread of its own: a delivery child still running
//! `Settings::margin` after its program time limit is killed, as its owner, with
//! everything it started (privilege::kill_tree) and its delivery answered with a
//! temporary failure (4.3.0), so a hung child holds no delivery slot and no process for
//! ever. A POP3 child is bounded
//! by its own idle timeout; its thread only reaps it.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::process::Child;
use std::time::Duration;

use privilege::{kill_tree, recv_with_fds, spawn_as, wait_at_most, Identity, Launch};
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
    /// How long a delivery child may run past its program time limit (`qmta lspawn`'s
    /// argument; ts/lspawn/helper.ts says why 60 s and waits longer itself).
    pub margin: Duration,
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

fn handle(packet: &[u8], fds: Vec<OwnedFd>, s: &Settings, accounts: &dyn Accounts) -> Result<(), Refusal> {
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
    // The helper keeps a copy of a delivery's reply socket to answer for a child it kills.
    let answer_for = match req.kind {
        Kind::Local => Some(reply.try_clone().map_err(|e| (Failure::from_io(&e, "dup"), req.kind, None))?),
        Kind::Pop3 => None,
    };
    let launch = Launch { program: s.node.clone(), args: args(s, &req), env: s.env.clone(), stdin, stdout: reply };
    let who = Identity { uid: target.uid, gid: target.gid, groups: target.groups };
    let child = spawn_as(&who, launch).map_err(|e| (Failure::from_io(&e, "starting the delivery as its owner"), req.kind, None))?;
    let (kind, limit) = (req.kind, Duration::from_millis(u64::from(req.timeout_ms)) + s.margin);
    std::thread::Builder::new().name("qmta-watch".into()).spawn(move || watch(child, &req, &who, limit, answer_for))
        .map(|_| ()).map_err(|e| (Failure::from_io(&e, "watching the delivery"), kind, None))
}

/// Reaps the child; a delivery child past `limit` is killed and answered for. The thread
/// ends here: kill_tree leaves it the owner's.
fn watch(mut child: Child, req: &Request, who: &Identity, limit: Duration, reply: Option<OwnedFd>) {
    let Some(reply) = reply else {
        let _ = child.wait();
        return;
    };
    match wait_at_most(&mut child, limit) {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(e) = kill_tree(&mut child, who.uid, who.gid) {
                eprintln!("qmta lspawn: killed only the process group of the delivery as {}: {e}", req.user);
            }
            let f = Failure::temp("3.0", format!("the delivery as {} ran longer than {} seconds: killed.", req.user, limit.as_secs()));
            eprintln!("qmta lspawn: {f}");
            answer(&reply, Kind::Local, &f);
        }
        Err(e) => {
            eprintln!("qmta lspawn: cannot watch the delivery as {}: {e}", req.user);
            let _ = child.wait();
        }
    }
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
