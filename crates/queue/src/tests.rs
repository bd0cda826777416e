//! Unit tests of the queue operations on a real directory (one per test).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use crate::layout::Folder;
use crate::*;

pub(crate) struct Dir(pub PathBuf);

impl Dir {
    pub fn new() -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!("qmta-queue-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&p);
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn open(d: &Dir) -> Queue {
    Queue::open(&d.0, Options::default()).unwrap()
}

fn env(sender: &str, rcpts: &[&str]) -> Envelope {
    Envelope { sender: sender.into(), recipients: rcpts.iter().map(|r| r.as_bytes().to_vec()).collect() }
}

fn add(q: &Queue, body: &[u8], e: &Envelope) -> u64 {
    let mut w = q.create_writer().unwrap();
    w.write(body).unwrap();
    w.commit(e).unwrap()
}

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in Folder::ALL {
        for b in 0..BUCKETS {
            for e in fs::read_dir(root.join(f.name()).join(b.to_string())).unwrap().flatten() {
                out.push(format!("{}/{}", f.name(), e.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn open_creates_every_bucket_and_reopens() {
    let d = Dir::new();
    open(&d);
    for f in Folder::ALL {
        assert!(d.0.join(f.name()).join((BUCKETS - 1).to_string()).is_dir());
    }
    assert!(d.0.join("quarantine").is_dir());
    open(&d);
}

#[test]
fn bad_options_are_refused() {
    let d = Dir::new();
    for m in [0, MAX_RECIPIENTS_CEILING + 1] {
        let f = Queue::open(&d.0, Options { max_recipients: m }).err().unwrap();
        assert_eq!(f.status, "5.3.5");
    }
}

#[test]
fn an_added_message_is_in_todo_with_its_body_and_envelope() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"Subject: hi\n\nbody\n", &env("a@b", &["c@d", "e@f"]));
    assert_eq!(q.list_todo().unwrap(), vec![n]);
    assert_eq!(fs::read(q.body_path(n)).unwrap(), b"Subject: hi\n\nbody\n");
    let t = q.read_todo(n).unwrap();
    assert_eq!(t.envelope, env("a@b", &["c@d", "e@f"]));
    assert_eq!(t.pid, std::process::id());
    assert!(t.birth <= SystemTime::now());
    assert_eq!(q.stats().unwrap(), Stats { messages: 1, todo: 1 });
    let c = q.counters();
    assert_eq!(c.commits, 1);
    // The body and the envelope, then mess/<b> and todo/<b>: each part of the commit ran.
    assert_eq!((c.file_fsyncs, c.dir_fsyncs), (2, 2), "{c:?}");
}

#[test]
fn a_large_body_streams_through_a_small_buffer() {
    let d = Dir::new();
    let q = open(&d);
    let mut w = q.create_writer().unwrap();
    let chunk = vec![b'z'; 100_000];
    (0..50).for_each(|_| w.write(&chunk).unwrap());
    assert_eq!(w.size(), 5_000_000);
    let n = w.commit(&env("", &["r@x"])).unwrap();
    assert_eq!(fs::metadata(q.body_path(n)).unwrap().len(), 5_000_000);
}

#[test]
fn append_file_copies_a_file_after_a_prefix() {
    let d = Dir::new();
    let q = open(&d);
    let src = d.0.join("src.txt");
    fs::write(&src, b"line\n").unwrap();
    let mut w = q.create_writer().unwrap();
    w.write(b"Received: x\n").unwrap();
    w.append_file(&src).unwrap();
    w.write(b"tail\n").unwrap();
    let n = w.commit(&env("a@b", &["c@d"])).unwrap();
    assert_eq!(fs::read(q.body_path(n)).unwrap(), b"Received: x\nline\ntail\n");
    let mut w = q.create_writer().unwrap();
    assert_eq!(w.append_file(&d.0.join("missing")).unwrap_err().status, "4.2.1");
}

#[test]
fn a_refused_envelope_leaves_nothing_behind() {
    let d = Dir::new();
    let q = Queue::open(&d.0, Options { max_recipients: 2 }).unwrap();
    let long = "x".repeat(MAX_ADDRESS + 1);
    let cases = [(env("a@b", &[&long]), "5.1.3"), (env("a@b", &["a\nb"]), "5.1.3"), (env("a\0b", &["c@d"]), "5.1.7"), (env("a@b", &["1@x", "2@x", "3@x"]), "5.5.3")];
    for (e, status) in cases {
        let mut w = q.create_writer().unwrap();
        w.write(b"body").unwrap();
        let f = w.commit(&e).unwrap_err();
        assert_eq!((f.status.as_str(), f.is_temporary()), (status, false));
    }
    assert_eq!(files(&d.0), Vec::<String>::new());
}

#[test]
fn abort_and_drop_remove_the_body() {
    let d = Dir::new();
    let q = open(&d);
    let mut w = q.create_writer().unwrap();
    w.write(&vec![b'x'; 100_000]).unwrap();
    assert!(q.body_path(w.id()).exists(), "past 64 KiB the body is on disk");
    w.abort();
    let mut small = q.create_writer().unwrap();
    small.write(b"x").unwrap();
    assert!(!q.body_path(small.id()).exists(), "a small body stays in memory until the commit");
    drop(small);
    let mut dropped = q.create_writer().unwrap();
    dropped.write(&vec![b'y'; 100_000]).unwrap();
    drop(dropped);
    assert_eq!(files(&d.0), Vec::<String>::new());
}

#[test]
fn an_io_error_during_commit_is_temporary_and_cleans_up() {
    let d = Dir::new();
    let q = open(&d);
    let mut w = q.create_writer().unwrap();
    w.write(b"x").unwrap();
    let b = crate::id::bucket(w.id());
    fs::remove_dir(d.0.join("intd").join(b.to_string())).unwrap();
    let f = w.commit(&env("a@b", &["c@d"])).unwrap_err();
    assert_eq!((f.status.as_str(), f.is_temporary()), ("4.2.1", true));
    assert_eq!(files_except_missing(&d.0, b), Vec::<String>::new());
}

fn files_except_missing(root: &Path, b: u64) -> Vec<String> {
    fs::create_dir(root.join("intd").join(b.to_string())).unwrap();
    files(root)
}

#[test]
fn async_commits_share_directory_fsyncs() {
    let d = Dir::new();
    let q = open(&d);
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..64 {
        let mut w = q.create_writer().unwrap();
        w.write(format!("body {i}").as_bytes()).unwrap();
        let tx = tx.clone();
        w.commit_async(env("a@b", &["c@d"]), move |r| tx.send(r).unwrap());
    }
    let ids: Vec<u64> = (0..64).map(|_| rx.recv().unwrap().unwrap()).collect();
    assert_eq!(q.list_todo().unwrap().len(), 64);
    assert!(ids.iter().all(|n| q.read_todo(*n).is_ok()));
    let c = q.counters();
    // Two dir fsyncs per commit without sharing (mess and todo); a batch needs far fewer.
    assert!(c.dir_fsyncs < 2 * 64, "{c:?}");
    assert_eq!(c.file_fsyncs, 2 * 64);
}

#[test]
fn a_commit_dropped_unresolved_still_answers_once() {
    let d = Dir::new();
    let q = open(&d);
    let (tx, rx) = std::sync::mpsc::channel();
    let ready = crate::commit::Ready::Bytes(b"x".to_vec());
    let c = crate::commit::Commit::new(q.inner.clone(), crate::id::next(), ready, &env("a@b", &["c@d"]), Box::new(move |r| tx.send(r).unwrap()));
    drop(c);
    assert_eq!(rx.recv().unwrap().unwrap_err().status, "4.3.0");
    assert!(rx.try_recv().is_err(), "answered once");
}

#[test]
fn preprocess_keeps_the_routing_in_memory_and_settle_writes_it_and_drops_todo() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"body", &env("s@x", &["l@here", "r@there"]));
    let birth = q.read_todo(n).unwrap().birth;
    let fsyncs = q.counters().file_fsyncs;
    q.preprocess(n, &[b"l@here".to_vec()], &[b"r@there".to_vec()]).unwrap();
    assert_eq!(q.counters().file_fsyncs, fsyncs, "an unsettled preprocessing is not fsync'd");
    assert!(q.inner.layout.file(Folder::Todo, n).exists(), "unsettled: todo stays");
    assert!(!q.inner.layout.file(Folder::Info, n).exists(), "unsettled: nothing written yet");
    assert_eq!(q.list_todo().unwrap(), Vec::<u64>::new(), "but this process no longer lists it");
    assert_eq!(q.list_queued().unwrap(), vec![n]);
    let info = q.info(n).unwrap();
    assert_eq!((info.sender.as_slice(), info.birth, info.size), (&b"s@x"[..], birth, 4));
    let local = q.recipients(n, Channel::Local).unwrap();
    assert_eq!(local, vec![Recipient { index: 0, address: b"l@here".to_vec(), done: false }]);
    q.settle(n).unwrap();
    assert_eq!(q.counters().file_fsyncs - fsyncs, 3, "settling fsyncs info, local and remote");
    assert_eq!(fs::read(d.0.join("remote").join(crate::id::bucket(n).to_string()).join(n.to_string())).unwrap(), b"Tr@there\0");
    assert_eq!(q.info(n).unwrap().birth, birth, "info's mtime is the birth");
    assert!(!q.inner.layout.file(Folder::Todo, n).exists());
    assert!(!q.inner.layout.file(Folder::Intd, n).exists());
    q.preprocess(n, &[], &[]).unwrap(); // done already: nothing changes
    q.settle(n).unwrap();
    assert_eq!(q.recipients(n, Channel::Local).unwrap().len(), 1);
    assert_eq!(q.counters().file_fsyncs - fsyncs, 3);
}

#[test]
fn a_restart_preprocesses_an_unsettled_message_again() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"body", &env("s@x", &["a@x", "b@x"]));
    q.preprocess(n, &[b"a@x".to_vec(), b"b@x".to_vec()], &[]).unwrap();
    let restarted = open(&d);
    assert_eq!(restarted.list_todo().unwrap(), vec![n], "another process sees a committed message");
    restarted.settle(n).unwrap(); // not its preprocessing: nothing to settle
    assert!(restarted.inner.layout.file(Folder::Todo, n).exists());
    restarted.preprocess(n, &[b"a@x".to_vec()], &[]).unwrap();
    assert_eq!(restarted.recipients(n, Channel::Local).unwrap().len(), 1, "redone from scratch");
}

#[test]
fn progress_settles_first_and_an_unsettled_message_is_removed_whole() {
    let d = Dir::new();
    let q = open(&d);
    type Step<'a> = &'a dyn Fn(&Queue, u64) -> Result<()>;
    let progress: [Step; 3] = [
        &|q, n| q.mark_done(n, Channel::Local, 0),
        &|q, n| q.append_bounce(n, b"<a@x>:\nx\n\n"),
        &|q, n| q.set_next_attempt(n, Channel::Local, SystemTime::now()),
    ];
    for step in progress {
        let n = add(&q, b"b", &env("s@x", &["a@x"]));
        q.preprocess(n, &[b"a@x".to_vec()], &[]).unwrap();
        step(&q, n).unwrap();
        assert!(!q.inner.layout.file(Folder::Todo, n).exists(), "settled before the progress was recorded");
        q.remove(n).unwrap();
    }
    let n = add(&q, b"b", &env("s@x", &["a@x"]));
    q.preprocess(n, &[b"a@x".to_vec()], &[]).unwrap();
    q.remove(n).unwrap();
    assert_eq!(files(&d.0), Vec::<String>::new());
    assert!(!q.is_unsettled(n));
}

#[test]
fn concurrent_progress_on_one_message_settles_it_once() {
    let d = Dir::new();
    let q = open(&d);
    let rcpts: Vec<Vec<u8>> = (0..16).map(|i| format!("r{i}@there").into_bytes()).collect();
    let names: Vec<&str> = rcpts.iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
    let n = add(&q, b"body", &env("s@x", &names));
    q.preprocess(n, &[], &rcpts).unwrap();
    // As parallel remote deliveries do: each marks its own recipient, settling first.
    let marks: Vec<_> = (0..rcpts.len())
        .map(|i| {
            let q = q.clone();
            std::thread::spawn(move || q.mark_done(n, Channel::Remote, i))
        })
        .collect();
    for m in marks {
        m.join().unwrap().unwrap();
    }
    let done = q.recipients(n, Channel::Remote).unwrap();
    assert_eq!(done.len(), 16);
    assert!(done.iter().all(|r| r.done), "every mark landed in the one list");
    assert!(!q.inner.layout.file(Folder::Todo, n).exists());
}

#[test]
fn preprocess_is_redone_from_scratch_while_todo_exists() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"body", &env("s@x", &["a@x"]));
    fs::write(q.inner.layout.file(Folder::Info, n), b"Fjunk").unwrap();
    fs::write(q.inner.layout.file(Folder::Local, n), b"Tstale\0").unwrap();
    fs::write(q.inner.layout.file(Folder::Bounce, n), b"<old>:\nx\n\n").unwrap();
    q.preprocess(n, &[], &[b"a@x".to_vec()]).unwrap();
    assert_eq!(q.info(n).unwrap().sender, b"s@x");
    assert_eq!(q.recipients(n, Channel::Local).unwrap(), vec![]);
    assert_eq!(q.recipients(n, Channel::Remote).unwrap().len(), 1);
    assert_eq!(q.read_bounce(n).unwrap(), None);
}

#[test]
fn preprocess_checks_routed_addresses() {
    let d = Dir::new();
    let q = Queue::open(&d.0, Options { max_recipients: 1 }).unwrap();
    let n = add(&q, b"b", &env("s@x", &["a@x"]));
    assert_eq!(q.preprocess(n, &[b"a\0x".to_vec()], &[]).unwrap_err().status, "5.1.3");
    assert_eq!(q.preprocess(n, &[b"a".to_vec()], &[b"b".to_vec()]).unwrap_err().status, "5.5.3");
    assert_eq!(q.list_todo().unwrap(), vec![n], "a refused preprocess leaves todo in place");
}

#[test]
fn mark_done_is_in_place_and_keeps_the_next_attempt() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"b", &env("s@x", &["a@x", "b@x", "c@x"]));
    q.preprocess(n, &[b"a@x".to_vec(), b"b@x".to_vec(), b"c@x".to_vec()], &[]).unwrap();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    q.set_next_attempt(n, Channel::Local, at).unwrap();
    q.mark_done(n, Channel::Local, 1).unwrap();
    let done: Vec<bool> = q.recipients(n, Channel::Local).unwrap().iter().map(|r| r.done).collect();
    assert_eq!(done, vec![false, true, false]);
    assert_eq!(q.next_attempt(n, Channel::Local).unwrap(), Some(at));
    assert_eq!(q.next_attempt(n, Channel::Remote).unwrap(), None);
    assert_eq!(q.mark_done(n, Channel::Local, 3).unwrap_err().status, "4.3.0");
    assert_eq!(q.mark_done(n, Channel::Remote, 0).unwrap_err().status, "4.3.0");
}

#[test]
fn bounce_paragraphs_accumulate() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"b", &env("s@x", &["a@x"]));
    assert_eq!(q.read_bounce(n).unwrap(), None);
    q.append_bounce(n, b"<a@x>:\nNo mailbox. (#5.1.1)\n\n").unwrap();
    q.append_bounce(n, b"<b@x>:\nGone.\n\n").unwrap();
    assert_eq!(q.read_bounce(n).unwrap().unwrap(), b"<a@x>:\nNo mailbox. (#5.1.1)\n\n<b@x>:\nGone.\n\n");
}

#[test]
fn remove_deletes_every_file_and_is_idempotent() {
    let d = Dir::new();
    let q = open(&d);
    let n = add(&q, b"b", &env("s@x", &["a@x", "b@y"]));
    q.preprocess(n, &[b"a@x".to_vec()], &[b"b@y".to_vec()]).unwrap();
    q.append_bounce(n, b"<a@x>:\nx\n\n").unwrap();
    q.remove(n).unwrap();
    assert_eq!(files(&d.0), Vec::<String>::new());
    q.remove(n).unwrap();
}

#[test]
fn a_removed_message_s_inodes_are_reused_and_recovery_forgets_spares() {
    use std::os::unix::fs::MetadataExt;
    let d = Dir::new();
    let q = open(&d);
    let inodes = |n: u64| -> HashSet<u64> {
        [Folder::Mess, Folder::Intd, Folder::Info, Folder::Local].iter().filter_map(|f| fs::metadata(q.inner.layout.file(*f, n)).ok()).map(|m| m.ino()).collect()
    };
    let a = add(&q, b"a longer body than the next one", &env("s@x", &["a@x"]));
    q.preprocess(a, &[b"a@x".to_vec()], &[]).unwrap();
    let mut old = inodes(a); // mess and intd
    q.settle(a).unwrap(); // intd goes, info and local come
    old.extend(inodes(a));
    assert_eq!(old.len(), 4);
    q.remove(a).unwrap();
    let b = add(&q, b"short", &env("t@x", &["b@x"]));
    q.preprocess(b, &[b"b@x".to_vec()], &[]).unwrap();
    assert_eq!(q.read_todo(b).unwrap().envelope.sender, b"t@x");
    q.settle(b).unwrap();
    assert_eq!(inodes(b).len(), 3);
    assert!(inodes(b).is_subset(&old), "every file of the new message is a spare");
    assert_eq!(fs::read(q.body_path(b)).unwrap(), b"short", "cut to its own length");
    assert_eq!(q.recipients(b, Channel::Local).unwrap()[0].address, b"b@x");
    q.remove(b).unwrap();
    assert!(fs::read_dir(d.0.join("spare")).unwrap().count() > 0);
    q.recover(SystemTime::now(), GARBAGE_AGE).unwrap();
    assert_eq!(fs::read_dir(d.0.join("spare")).unwrap().count(), 0, "no spare survives a recovery");
}

#[test]
fn ids_are_checked_and_channels_named() {
    assert_eq!(parse_id("../../etc/passwd").unwrap_err().status, "5.3.0");
    assert!(parse_id("4294967296").is_ok());
    assert_eq!(Channel::parse("local"), Ok(Channel::Local));
    assert_eq!(Channel::parse("Remote").unwrap_err().status, "5.3.0");
}

mod damage;
