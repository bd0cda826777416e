//! N-API face of crates/mailbox's maildir reading (read.rs) for ts/pop3d: the login
//! scan of a maildrop, sized with crates/wire's encoder (RFC 1939 sizes), run on the
//! libuv pool so a 10,000-message maildrop never blocks the event loop.
//!
//! `openMaildrop(maildir)` -> Promise<MaildropScan>: `entries` in maildrop order, or
//! `failure` = { code: "QMTA_TEMP" | "QMTA_PERM", message: "<status> <text>" }, the
//! same shape failure.rs gives thrown errors, so ts/native.ts decodes both alike.
//! (An AsyncTask can only reject with a napi Status code, hence the value.)

use std::path::PathBuf;
use std::time::SystemTime;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use status::{Class, Failure};

/// One message of the maildrop.
#[napi(object)]
pub struct MaildropEntry {
    /// File name inside cur/.
    pub file: String,
    pub mtime_ms: f64,
    /// RFC 1939 size: CR LF line ends, no dot-stuffing.
    pub size: f64,
}

#[napi(object)]
pub struct MaildropFailure {
    pub code: String,
    pub message: String,
}

#[napi(object)]
pub struct MaildropScan {
    pub entries: Vec<MaildropEntry>,
    pub failure: Option<MaildropFailure>,
}

pub struct ScanTask {
    maildir: PathBuf,
}

impl Task for ScanTask {
    type Output = Result<Vec<mailbox::read::Listed>, Failure>;
    type JsValue = MaildropScan;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let size_of = |p: &std::path::Path| wire::wire_size(p, &wire::Options::default());
        Ok(mailbox::read::open_maildrop(&self.maildir, SystemTime::now(), size_of))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<MaildropScan> {
        Ok(match output {
            Ok(listed) => MaildropScan { entries: listed.into_iter().map(entry).collect(), failure: None },
            Err(f) => MaildropScan { entries: Vec::new(), failure: Some(failure(f)) },
        })
    }
}

fn entry(l: mailbox::read::Listed) -> MaildropEntry {
    MaildropEntry { file: l.file, mtime_ms: l.mtime_ms as f64, size: l.size as f64 }
}

fn failure(f: Failure) -> MaildropFailure {
    let code = match f.class {
        Class::Temporary => "QMTA_TEMP",
        Class::Permanent => "QMTA_PERM",
    };
    MaildropFailure { code: code.to_string(), message: format!("{} {}", f.status, f.text) }
}

/// Cleans tmp/, moves new/ to cur/, lists cur/ with sizes (crates/mailbox read.rs).
#[napi(ts_return_type = "Promise<MaildropScan>")]
pub fn open_maildrop(maildir: String) -> AsyncTask<ScanTask> {
    AsyncTask::new(ScanTask { maildir: PathBuf::from(maildir) })
}
