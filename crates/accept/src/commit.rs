//! Makes an accepted message durable before its 250: each direct recipient's maildirs are
//! written at once (one leaf job per recipient, all running together, or a small message's
//! only one on the caller's thread; with syncfs their filesystem's sync thread finishes
//! them, target.rs), then every other
//! recipient (remote, programs, forwards, mbox, lists: routed to the queue) and every
//! direct recipient whose write failed goes into one queue commit. `done` is called once,
//! on a core thread, when all of it is durable or has failed.
//!
//! Interface: `commit(Accepted, &Queue, done)`; the `Report` tells, per recipient index,
//! the files delivered or the failure that sent it to the queue, and the queue id.
//! Failures (`done(Err)`): a message whose header has a direct recipient's Delivered-To
//! line -> permanent 5.4.6 before anything is written; a spool that failed while the
//! message came in -> its temporary failure; the queue commit failing -> its failure
//! (then direct recipients already delivered get a duplicate when the client retries:
//! at-least-once, never a loss).
//! Guarantee: a recipient is delivered by exactly one path: its maildirs, or the queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::path::PathBuf;

use queue::{Envelope, Queue};
use status::{Failure, Result};

use crate::message::Message;
use crate::target::{self, Durability, Target};

/// One recipient as routed at RCPT time.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub address: String,
    /// Delivered at accept time into these maildirs; `None` goes through the queue.
    pub direct: Option<Target>,
}

/// A received message with its envelope.
pub struct Accepted {
    /// Shared: the policy side may still hold a reader of it (content checks).
    pub message: Arc<Message>,
    /// Lines prepended to the stored message (Received, and whatever policy adds).
    pub header: Vec<u8>,
    /// Byte ranges of the message left out when it is written (forged header fields:
    /// header.rs), sorted.
    pub strip: Vec<std::ops::Range<u64>>,
    pub sender: String,
    pub recipients: Vec<Recipient>,
    /// How the direct recipients' files are made durable (control/directsync).
    pub durability: Durability,
}

/// What became of each recipient.
#[derive(Debug, Default)]
pub struct Report {
    /// The id the logs give this message's direct deliveries (the queue's number space).
    pub id: u64,
    /// Bytes of the message as stored: header lines plus the message.
    pub bytes: u64,
    /// Recipient index and the files now in its maildirs' new/.
    pub delivered: Vec<(usize, Vec<PathBuf>)>,
    /// Recipient index and why its direct write failed (it went to the queue).
    pub fallback: Vec<(usize, Failure)>,
    /// The queue commit's id and the recipient indexes it holds.
    pub queued: Option<(u64, Vec<usize>)>,
}

/// The largest message written on the session's thread (`inline`): a few tens of µs.
const INLINE_MAX: u64 = 64 * 1024;

type Done = Box<dyn FnOnce(Result<Report>) + Send>;

struct Job {
    message: Arc<Message>,
    header: Vec<u8>,
    strip: Vec<std::ops::Range<u64>>,
    sender: String,
    recipients: Vec<Recipient>,
    durability: Durability,
    queue: Queue,
    report: Mutex<Report>,
    pending: AtomicUsize,
    done: Mutex<Option<Done>>,
}

/// Delivers and queues `a`; `done` gets the report once everything is durable.
pub fn commit(a: Accepted, queue: &Queue, done: impl FnOnce(Result<Report>) + Send + 'static) {
    if let Some(f) = a.message.failure() {
        return done(Err(f.clone()));
    }
    if a.recipients.iter().filter_map(|r| r.direct.as_ref()).any(|t| target::looping(a.message.head(), t)) {
        return done(Err(Failure::perm("4.6", "This message is looping: it already has my Delivered-To line.")));
    }
    let direct: Vec<usize> = (0..a.recipients.len()).filter(|&i| a.recipients[i].direct.is_some()).collect();
    let stripped: u64 = a.strip.iter().map(|r| r.end - r.start).sum();
    let bytes = a.header.len() as u64 + a.message.size() - stripped;
    let job = Arc::new(Job {
        message: a.message,
        header: a.header,
        strip: a.strip,
        sender: a.sender,
        recipients: a.recipients,
        durability: a.durability,
        queue: queue.clone(),
        report: Mutex::new(Report { id: if direct.is_empty() { 0 } else { queue::fresh_id() }, bytes, ..Report::default() }),
        pending: AtomicUsize::new(direct.len()),
        done: Mutex::new(Some(Box::new(done))),
    });
    if direct.is_empty() {
        let indexes = for_queue(&job);
        return enqueue(job, indexes);
    }
    if inline(&job, &direct) {
        return write_direct(job, direct[0]);
    }
    for i in direct {
        let job = job.clone();
        queue::spawn_leaf(move || write_direct(job, i));
    }
}

/// Whether the one direct write of a small message runs here, on the session's thread:
/// with syncfs it only writes to the page cache (no fsync waits on this thread; the
/// filesystem's sync thread finishes it), and a hop to a leaf thread cost more than the
/// write (a futex wake, and two context switches, a message). Several recipients are
/// written in parallel on the leaf threads; an fsync'd write (control/directsync fsync)
/// always goes there, as a large message does.
fn inline(job: &Job, direct: &[usize]) -> bool {
    direct.len() == 1 && job.durability == Durability::Filesystem && job.message.size() <= INLINE_MAX
}

fn write_direct(job: Arc<Job>, i: usize) {
    let Some(t) = job.recipients[i].direct.as_ref() else { return };
    let job2 = job.clone();
    target::deliver(t, job.durability, &job.header, &mut job.message.reader_without(&job.strip), move |r| written(job2, i, r));
}

/// Recipient `i`'s write ended (on this leaf thread, or on a filesystem's sync thread).
fn written(job: Arc<Job>, i: usize, r: Result<Vec<PathBuf>>) {
    {
        let mut report = lock(&job.report);
        match r {
            Ok(files) => report.delivered.push((i, files)),
            Err(f) => report.fallback.push((i, f)),
        }
    }
    if job.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
        let indexes = for_queue(&job);
        if indexes.is_empty() {
            // All delivered: answered from this thread, without a hop to the queue's.
            return finish(&job, Ok(()));
        }
        // The queue part may block on a large body's copy: not on a leaf or sync thread.
        queue::spawn_blocking(move || enqueue(job, indexes));
    }
}

/// The recipients routed to the queue and the direct ones that failed, in order.
fn for_queue(job: &Job) -> Vec<usize> {
    let mut indexes: Vec<usize> = (0..job.recipients.len()).filter(|&i| job.recipients[i].direct.is_none()).collect();
    indexes.extend(lock(&job.report).fallback.iter().map(|(i, _)| *i));
    indexes.sort_unstable();
    indexes
}

/// Queues the recipients `indexes`, if any.
fn enqueue(job: Arc<Job>, indexes: Vec<usize>) {
    if indexes.is_empty() {
        return finish(&job, Ok(()));
    }
    let env = Envelope {
        sender: job.sender.clone().into_bytes(),
        recipients: indexes.iter().map(|&i| job.recipients[i].address.clone().into_bytes()).collect(),
    };
    let writer = job.queue.create_writer().and_then(|mut w| {
        w.write(&job.header)?;
        w.append_reader(&mut job.message.reader_without(&job.strip))?;
        Ok(w)
    });
    match writer {
        Err(f) => finish(&job, Err(f)),
        Ok(w) => {
            let job2 = job.clone();
            w.commit_async(env, move |r| {
                let r = r.map(|id| lock(&job2.report).queued = Some((id, indexes)));
                finish(&job2, r);
            });
        }
    }
}

fn finish(job: &Job, r: Result<()>) {
    let Some(done) = lock(&job.done).take() else { return };
    done(r.map(|()| std::mem::take(&mut *lock(&job.report))));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
