//! N-API surface of crates/queue: the `NativeQueue` and `QueueWriter` classes, and the
//! raw-disk loop the benchmark compares against. No logic: convert, call, convert back.
//!
//! Promises: every asynchronous call runs on the queue crate's own threads (never the
//! libuv pool, so 1,000 pending commits hold no Node thread) and settles a napi deferred
//! from there; a Failure rejects with a QMTA_TEMP/QMTA_PERM error (failure::to_napi),
//! built on the JS thread. `…Sync` variants block the calling thread: for worker threads.
//! Times cross as milliseconds since the epoch (f64); addresses as strings.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use queue::{parse_id, Channel, Envelope, Options, Queue};

use crate::failure::{to_napi, Code};
use crate::promise::deferred;

fn ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn time(ms: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

fn envelope(sender: String, recipients: Vec<String>) -> Envelope {
    Envelope { sender: sender.into_bytes(), recipients: recipients.into_iter().map(String::into_bytes).collect() }
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn texts(v: Vec<String>) -> Vec<Vec<u8>> {
    v.into_iter().map(String::into_bytes).collect()
}

#[napi(object)]
pub struct NativeTodo {
    pub sender: String,
    pub recipients: Vec<String>,
    pub birth: f64,
}

#[napi(object)]
pub struct NativeInfo {
    pub sender: String,
    pub birth: f64,
    pub size: f64,
}

#[napi(object)]
pub struct NativeRecipient {
    pub index: u32,
    pub address: String,
    pub done: bool,
}

#[napi(object)]
pub struct NativeQuarantined {
    pub id: String,
    pub reason: String,
}

#[napi(object)]
pub struct NativeRecovery {
    pub removed: Vec<String>,
    pub quarantined: Vec<NativeQuarantined>,
}

#[napi(object)]
pub struct NativeQueueStats {
    pub messages: f64,
    pub todo: f64,
}

#[napi(object)]
pub struct NativeQueueCounters {
    pub commits: f64,
    pub file_fsyncs: f64,
    pub dir_fsyncs: f64,
}

/// An open queue (crates/queue `Queue`).
#[napi]
pub struct NativeQueue {
    q: Queue,
}

/// Opens (creating when missing) the queue at `root`.
#[napi]
pub fn queue_open(root: String, max_recipients: Option<u32>) -> Result<NativeQueue, napi::Error<Code>> {
    let mut opts = Options::default();
    if let Some(m) = max_recipients {
        opts.max_recipients = m as usize;
    }
    Queue::open(&PathBuf::from(root), opts).map(|q| NativeQueue { q }).map_err(to_napi)
}

#[napi]
impl NativeQueue {
    #[napi]
    pub fn create_writer(&self) -> Result<QueueWriter, napi::Error<Code>> {
        let w = self.q.create_writer().map_err(to_napi)?;
        Ok(QueueWriter { id: w.id().to_string(), w: Some(w) })
    }

    /// Queues `prefix` + the file at `path` on a queue thread.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn add_file<'e>(&self, env: &'e Env, prefix: Buffer, path: String, sender: String, recipients: Vec<String>) -> napi::Result<PromiseRaw<'e, String>> {
        let (settle, p) = deferred(env)?;
        let (prefix, e) = (prefix.to_vec(), envelope(sender, recipients));
        self.q.spawn(move |q| q.add_file(&prefix, &PathBuf::from(path), &e).map(|n| n.to_string()), settle);
        Ok(p)
    }

    #[napi]
    pub fn list_todo(&self) -> Result<Vec<String>, napi::Error<Code>> {
        self.q.list_todo().map(|v| v.iter().map(u64::to_string).collect()).map_err(to_napi)
    }

    #[napi]
    pub fn read_todo(&self, id: String) -> Result<NativeTodo, napi::Error<Code>> {
        let t = parse_id(&id).and_then(|n| self.q.read_todo(n)).map_err(to_napi)?;
        let recipients = t.envelope.recipients.into_iter().map(text).collect();
        Ok(NativeTodo { sender: text(t.envelope.sender), recipients, birth: ms(t.birth) })
    }

    #[napi]
    pub fn preprocess_sync(&self, id: String, local: Vec<String>, remote: Vec<String>) -> Result<(), napi::Error<Code>> {
        parse_id(&id).and_then(|n| self.q.preprocess(n, &texts(local), &texts(remote))).map_err(to_napi)
    }

    #[napi]
    pub fn list_queued(&self) -> Result<Vec<String>, napi::Error<Code>> {
        self.q.list_queued().map(|v| v.iter().map(u64::to_string).collect()).map_err(to_napi)
    }

    #[napi]
    pub fn info(&self, id: String) -> Result<NativeInfo, napi::Error<Code>> {
        let i = parse_id(&id).and_then(|n| self.q.info(n)).map_err(to_napi)?;
        Ok(NativeInfo { sender: text(i.sender), birth: ms(i.birth), size: i.size as f64 })
    }

    #[napi]
    pub fn recipients(&self, id: String, channel: String) -> Result<Vec<NativeRecipient>, napi::Error<Code>> {
        let r = parse_id(&id).and_then(|n| self.q.recipients(n, Channel::parse(&channel)?)).map_err(to_napi)?;
        Ok(r.into_iter().map(|r| NativeRecipient { index: r.index as u32, address: text(r.address), done: r.done }).collect())
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn mark_done<'e>(&self, env: &'e Env, id: String, channel: String, index: u32) -> napi::Result<PromiseRaw<'e, ()>> {
        let (settle, p) = deferred(env)?;
        self.q.spawn(move |q| q.mark_done(parse_id(&id)?, Channel::parse(&channel)?, index as usize), settle);
        Ok(p)
    }

    #[napi]
    pub fn mark_done_sync(&self, id: String, channel: String, index: u32) -> Result<(), napi::Error<Code>> {
        parse_id(&id).and_then(|n| self.q.mark_done(n, Channel::parse(&channel)?, index as usize)).map_err(to_napi)
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn append_bounce<'e>(&self, env: &'e Env, id: String, paragraph: String) -> napi::Result<PromiseRaw<'e, ()>> {
        let (settle, p) = deferred(env)?;
        self.q.spawn(move |q| q.append_bounce(parse_id(&id)?, paragraph.as_bytes()), settle);
        Ok(p)
    }

    #[napi]
    pub fn read_bounce(&self, id: String) -> Result<Option<String>, napi::Error<Code>> {
        parse_id(&id).and_then(|n| self.q.read_bounce(n)).map(|b| b.map(text)).map_err(to_napi)
    }

    #[napi]
    pub fn body_path(&self, id: String) -> Result<String, napi::Error<Code>> {
        parse_id(&id).map(|n| self.q.body_path(n).to_string_lossy().into_owned()).map_err(to_napi)
    }

    /// On a queue thread: it settles the message first, which fsyncs.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_next_attempt<'e>(&self, env: &'e Env, id: String, channel: String, at_ms: f64) -> napi::Result<PromiseRaw<'e, ()>> {
        let (settle, p) = deferred(env)?;
        self.q.spawn(move |q| q.set_next_attempt(parse_id(&id)?, Channel::parse(&channel)?, time(at_ms)), settle);
        Ok(p)
    }

    #[napi]
    pub fn next_attempt(&self, id: String, channel: String) -> Result<Option<f64>, napi::Error<Code>> {
        let t = parse_id(&id).and_then(|n| self.q.next_attempt(n, Channel::parse(&channel)?)).map_err(to_napi)?;
        Ok(t.map(ms))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn remove<'e>(&self, env: &'e Env, id: String) -> napi::Result<PromiseRaw<'e, ()>> {
        let (settle, p) = deferred(env)?;
        self.q.spawn(move |q| q.remove(parse_id(&id)?), settle);
        Ok(p)
    }

    #[napi]
    pub fn remove_sync(&self, id: String) -> Result<(), napi::Error<Code>> {
        parse_id(&id).and_then(|n| self.q.remove(n)).map_err(to_napi)
    }

    /// Moves a message to quarantine/; returns the directory it went to.
    #[napi]
    pub fn quarantine(&self, id: String, reason: String) -> Result<String, napi::Error<Code>> {
        let dir = parse_id(&id).and_then(|n| self.q.quarantine(n, &reason)).map_err(to_napi)?;
        Ok(dir.to_string_lossy().into_owned())
    }

    #[napi]
    pub fn recover(&self, now_ms: f64, garbage_age_ms: f64) -> Result<NativeRecovery, napi::Error<Code>> {
        let age = Duration::from_secs_f64(garbage_age_ms.max(0.0) / 1000.0);
        let r = self.q.recover(time(now_ms), age).map_err(to_napi)?;
        let quarantined = r.quarantined.into_iter().map(|(n, reason)| NativeQuarantined { id: n.to_string(), reason }).collect();
        Ok(NativeRecovery { removed: r.removed, quarantined })
    }

    /// Old garbage only, on a queue thread (the scan lists every folder); resolves with the
    /// removed paths.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn collect_garbage<'e>(&self, env: &'e Env, now_ms: f64, garbage_age_ms: f64) -> napi::Result<PromiseRaw<'e, Vec<String>>> {
        let (settle, p) = deferred(env)?;
        let age = Duration::from_secs_f64(garbage_age_ms.max(0.0) / 1000.0);
        self.q.spawn(move |q| q.collect_garbage(time(now_ms), age), settle);
        Ok(p)
    }

    #[napi]
    pub fn stats(&self) -> Result<NativeQueueStats, napi::Error<Code>> {
        let s = self.q.stats().map_err(to_napi)?;
        Ok(NativeQueueStats { messages: s.messages as f64, todo: s.todo as f64 })
    }

    #[napi]
    pub fn counters(&self) -> NativeQueueCounters {
        let c = self.q.counters();
        NativeQueueCounters { commits: c.commits as f64, file_fsyncs: c.file_fsyncs as f64, dir_fsyncs: c.dir_fsyncs as f64 }
    }
}

/// A message being written (crates/queue `Writer`); dropping it uncommitted removes the body.
#[napi]
pub struct QueueWriter {
    id: String,
    w: Option<queue::Writer>,
}

fn used() -> status::Failure {
    status::Failure::temp("3.0", "message writer already committed or aborted")
}

#[napi]
impl QueueWriter {
    /// The tentative id (crates/queue writer.rs): commit resolves with the real one.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    #[napi(getter)]
    pub fn size(&self) -> f64 {
        self.w.as_ref().map_or(0.0, |w| w.size() as f64)
    }

    #[napi]
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), napi::Error<Code>> {
        self.w.as_mut().ok_or_else(used).and_then(|w| w.write(chunk)).map_err(to_napi)
    }

    /// Commits on the queue threads; resolves with the id once durable.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn commit<'e>(&mut self, env: &'e Env, sender: String, recipients: Vec<String>) -> napi::Result<PromiseRaw<'e, String>> {
        let (settle, p) = deferred(env)?;
        match self.w.take() {
            Some(w) => w.commit_async(envelope(sender, recipients), move |r| settle(r.map(|n| n.to_string()))),
            None => settle(Err(used())),
        }
        Ok(p)
    }

    #[napi]
    pub fn commit_sync(&mut self, sender: String, recipients: Vec<String>) -> Result<String, napi::Error<Code>> {
        let w = self.w.take().ok_or_else(used).map_err(to_napi)?;
        w.commit(&envelope(sender, recipients)).map(|n| n.to_string()).map_err(to_napi)
    }

    #[napi]
    pub fn abort(&mut self) {
        if let Some(w) = self.w.take() {
            w.abort();
        }
    }
}

/// A raw-disk loop of the benchmarks (queue::rawloop): "add", "accept" or "message";
/// resolves with the elapsed ms.
#[napi(ts_args_type = "kind: 'add' | 'accept' | 'message', dir: string, count: number, threads: number, bodySize: number", ts_return_type = "Promise<number>")]
pub fn queue_raw_loop<'e>(env: &'e Env, kind: String, dir: String, count: u32, threads: u32, body_size: u32) -> napi::Result<PromiseRaw<'e, f64>> {
    let kind = match kind.as_str() {
        "add" => queue::rawloop::RawLoop::Add,
        "accept" => queue::rawloop::RawLoop::Accept,
        "message" => queue::rawloop::RawLoop::Message,
        _ => return Err(napi::Error::new(napi::Status::InvalidArg, format!("unknown raw loop {kind:?}"))),
    };
    let (settle, p) = deferred(env)?;
    std::thread::spawn(move || {
        let r = queue::rawloop::raw_loop(kind, &PathBuf::from(dir), count as usize, threads as usize, body_size as usize);
        settle(r.map(|d| d.as_secs_f64() * 1000.0));
    });
    Ok(p)
}
