//! N-API surface of crates/mailbox: maildir and mbox delivery, each in two forms.
//! `deliverMaildir` returns a Promise computed on the core's own threads (the queue
//! crate's pool: local deliveries run from the event loop, and must not crowd the libuv
//! pool that DNS, crypto and fs.promises share); `deliverMbox`'s Promise is computed on
//! the libuv pool (AsyncTask; its lock waits may last 30 s and must not hold a core
//! thread); `deliverMaildirSync` / `deliverMboxSync` block the calling thread and are
//! meant for tinypool workers, which have no event loop to block.
//! Failures reject/throw through failure::to_napi (code QMTA_TEMP / QMTA_PERM).

use std::path::PathBuf;
use std::time::Duration;

use mailbox::{MaildirDelivery, MboxDelivery};
use napi::bindgen_prelude::{AsyncTask, PromiseRaw};
use napi::JsError;
use napi::{Env, Task};
use napi_derive::napi;
use status::Failure;

use crate::failure::{to_napi, Code};
use crate::promise::deferred;

/// Owned arguments of one maildir delivery, so they can move to a pool thread.
pub struct MaildirArgs {
    maildir: PathBuf,
    headers: Vec<u8>,
    body: PathBuf,
}

impl MaildirArgs {
    fn run(&self) -> status::Result<String> {
        mailbox::deliver_maildir(&MaildirDelivery { maildir: &self.maildir, headers: &self.headers, body: &self.body })
    }
}

/// Owned arguments of one mbox delivery.
pub struct MboxArgs {
    mbox: PathBuf,
    sender: String,
    headers: Vec<u8>,
    body: PathBuf,
    lock_wait_ms: Option<u32>,
}

impl MboxArgs {
    fn run(&self) -> status::Result<()> {
        let mut d = MboxDelivery::new(&self.mbox, self.sender.as_bytes(), &self.headers, &self.body);
        if let Some(ms) = self.lock_wait_ms {
            d.lock_wait = Duration::from_millis(u64::from(ms));
        }
        mailbox::deliver_mbox(&d)
    }
}

/// Settles a pool-thread result on the JS thread: a Failure becomes a rejected
/// QMTA_TEMP/QMTA_PERM error (Task::compute can only carry napi's own status codes).
fn settle<T>(env: &Env, r: status::Result<T>) -> napi::Result<T> {
    r.map_err(|f: Failure| napi::Error::from(JsError::from(to_napi(f)).into_unknown(*env)))
}

pub struct DeliverMboxTask(MboxArgs);

impl Task for DeliverMboxTask {
    type Output = status::Result<()>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.0.run())
    }

    fn resolve(&mut self, env: Env, out: Self::Output) -> napi::Result<()> {
        settle(&env, out)
    }
}

/// Delivers into a maildir on a core thread; resolves with the name in new/.
#[napi(ts_return_type = "Promise<string>")]
pub fn deliver_maildir<'e>(env: &'e Env, maildir: String, headers: &[u8], body_path: String) -> napi::Result<PromiseRaw<'e, String>> {
    let (settle, p) = deferred(env)?;
    let args = MaildirArgs { maildir: maildir.into(), headers: headers.to_vec(), body: body_path.into() };
    queue::spawn_blocking(move || settle(args.run()));
    Ok(p)
}

/// Delivers into a maildir on this thread (for worker threads); returns the name in new/.
#[napi]
pub fn deliver_maildir_sync(maildir: String, headers: &[u8], body_path: String) -> Result<String, napi::Error<Code>> {
    MaildirArgs { maildir: maildir.into(), headers: headers.to_vec(), body: body_path.into() }.run().map_err(to_napi)
}

/// Appends to an mbox on the libuv pool.
#[napi(ts_return_type = "Promise<void>")]
pub fn deliver_mbox(mbox: String, sender: String, headers: &[u8], body_path: String, lock_wait_ms: Option<u32>) -> AsyncTask<DeliverMboxTask> {
    let args = MboxArgs { mbox: mbox.into(), sender, headers: headers.to_vec(), body: body_path.into(), lock_wait_ms };
    AsyncTask::new(DeliverMboxTask(args))
}

/// Appends to an mbox on this thread (for worker threads).
#[napi]
pub fn deliver_mbox_sync(mbox: String, sender: String, headers: &[u8], body_path: String, lock_wait_ms: Option<u32>) -> Result<(), napi::Error<Code>> {
    let args = MboxArgs { mbox: mbox.into(), sender, headers: headers.to_vec(), body: body_path.into(), lock_wait_ms };
    args.run().map_err(to_napi)
}

