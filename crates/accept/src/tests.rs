//! commit() on real directories: direct maildirs, the queue, and the fallback between them.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::channel;

use queue::{Options, Queue};
use status::{Class, Result};

use crate::*;

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!("qmta-accept-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn maildir(&self, name: &str) -> PathBuf {
        let md = self.0.join(name);
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(md.join(sub)).unwrap();
        }
        md
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn target(maildirs: &[&Path], who: &str) -> Target {
    let dt = format!("Delivered-To: {who}");
    Target {
        maildirs: maildirs.iter().map(|p| p.to_path_buf()).collect(),
        prefix: format!("Return-Path: <s@x>\n{dt}\n").into_bytes(),
        dtline: dt.into_bytes(),
    }
}

fn message(dir: &Path, body: &[u8]) -> std::sync::Arc<Message> {
    let mut m = Message::new(dir);
    m.write(body).unwrap();
    std::sync::Arc::new(m)
}

fn run(a: Accepted, q: &Queue) -> Result<Report> {
    let (tx, rx) = channel();
    commit(a, q, move |r| tx.send(r).unwrap());
    rx.recv().unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

fn direct(address: &str, t: Target) -> Recipient {
    Recipient { address: address.into(), direct: Some(t) }
}

fn queued(address: &str) -> Recipient {
    Recipient { address: address.into(), direct: None }
}

#[test]
fn a_direct_recipient_is_written_whole_and_never_queued() {
    for durability in [Durability::Filesystem, Durability::EachFile] {
        written_whole(durability);
    }
}

fn written_whole(durability: Durability) {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let md = d.maildir("joe");
    let a = Accepted {
        message: message(&d.0, b"Subject: hi\n\nhello\n"),
        header: b"Received: from x\n".to_vec(),
        strip: Vec::new(),
        sender: "s@x".into(),
        recipients: vec![direct("joe@example.com", target(&[&md], "joe@example.com"))],
        durability,
    };
    let r = run(a, &q).unwrap();
    assert_eq!(r.delivered.len(), 1);
    assert!(r.queued.is_none() && r.fallback.is_empty());
    assert_eq!(r.bytes, 17 + 19);
    let new = files(&md.join("new"));
    assert_eq!(new, r.delivered[0].1);
    let text = fs::read(&new[0]).unwrap();
    assert_eq!(text, b"Return-Path: <s@x>\nDelivered-To: joe@example.com\nReceived: from x\nSubject: hi\n\nhello\n");
    assert!(files(&md.join("tmp")).is_empty());
    assert!(q.list_todo().unwrap().is_empty());
}

#[test]
fn a_mixed_message_delivers_the_direct_ones_and_queues_the_rest() {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let (a_md, b1, b2) = (d.maildir("a"), d.maildir("b1"), d.maildir("b2"));
    let acc = Accepted {
        message: message(&d.0, b"Subject: mixed\n\nbody\n"),
        header: b"Received: from y\n".to_vec(),
        strip: Vec::new(),
        sender: "s@x".into(),
        recipients: vec![
            direct("a@here", target(&[&a_md], "a@here")),
            queued("far@remote.example"),
            direct("b@here", target(&[&b1, &b2], "b@here")),
        ],
        durability: Durability::default(),
    };
    let r = run(acc, &q).unwrap();
    let mut delivered: Vec<usize> = r.delivered.iter().map(|(i, _)| *i).collect();
    delivered.sort_unstable();
    assert_eq!(delivered, [0, 2]);
    let (id, held) = r.queued.clone().unwrap();
    assert_eq!(held, [1]);
    let todo = q.read_todo(id).unwrap();
    assert_eq!(todo.envelope.recipients, [b"far@remote.example".to_vec()]);
    assert_eq!(fs::read(q.body_path(id)).unwrap(), b"Received: from y\nSubject: mixed\n\nbody\n");
    for md in [&a_md, &b1, &b2] {
        assert_eq!(files(&md.join("new")).len(), 1, "{}", md.display());
    }
}

#[test]
fn a_direct_write_that_fails_goes_to_the_queue_instead() {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let good = d.maildir("good");
    let missing = d.0.join("gone/Maildir");
    let acc = Accepted {
        message: message(&d.0, b"Subject: x\n\ny\n"),
        header: Vec::new(),
        strip: Vec::new(),
        sender: "s@x".into(),
        // All or nothing per recipient: the good maildir of b is not written either.
        recipients: vec![direct("b@here", target(&[&good, &missing], "b@here"))],
        durability: Durability::default(),
    };
    let r = run(acc, &q).unwrap();
    assert!(r.delivered.is_empty());
    assert_eq!(r.fallback.len(), 1);
    assert_eq!(r.fallback[0].1.class, Class::Temporary);
    assert!(files(&good.join("new")).is_empty(), "nothing delivered twice");
    assert!(files(&good.join("tmp")).is_empty());
    let (id, held) = r.queued.unwrap();
    assert_eq!(held, [0]);
    assert_eq!(q.read_todo(id).unwrap().envelope.recipients, [b"b@here".to_vec()]);
}

#[test]
fn a_message_with_our_delivered_to_line_is_refused_before_any_write() {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let md = d.maildir("joe");
    let acc = Accepted {
        message: message(&d.0, b"Delivered-To: joe@here\nSubject: loop\n\nx\n"),
        header: b"Received: from z\n".to_vec(),
        strip: Vec::new(),
        sender: "s@x".into(),
        recipients: vec![queued("far@remote.example"), direct("joe@here", target(&[&md], "joe@here"))],
        durability: Durability::default(),
    };
    let f = run(acc, &q).unwrap_err();
    assert_eq!((f.class, f.status.as_str()), (Class::Permanent, "5.4.6"));
    assert!(files(&md.join("new")).is_empty());
    assert!(q.list_todo().unwrap().is_empty());
}

#[test]
fn a_spooled_message_reaches_every_maildir_and_the_queue_byte_exact() {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let (m1, m2) = (d.maildir("m1"), d.maildir("m2"));
    let body: Vec<u8> = (0..(SPILL_AT * 3)).map(|i| b"abcdefghij\n"[i % 11]).collect();
    let acc = Accepted {
        message: message(&d.0, &body),
        header: b"Received: big\n".to_vec(),
        strip: Vec::new(),
        sender: String::new(),
        recipients: vec![direct("m1@here", target(&[&m1], "m1@here")), direct("m2@here", target(&[&m2], "m2@here")), queued("r@far")],
        durability: Durability::default(),
    };
    let r = run(acc, &q).unwrap();
    for (md, who) in [(&m1, "m1@here"), (&m2, "m2@here")] {
        let f = files(&md.join("new"));
        let want = [format!("Return-Path: <s@x>\nDelivered-To: {who}\nReceived: big\n").into_bytes(), body.clone()].concat();
        assert!(fs::read(&f[0]).unwrap() == want, "{who}");
    }
    let (id, _) = r.queued.unwrap();
    assert!(fs::read(q.body_path(id)).unwrap() == [b"Received: big\n".to_vec(), body].concat());
}

#[test]
fn forged_authentication_results_are_left_out_of_every_copy() {
    let d = Dir::new();
    let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
    let md = d.maildir("joe");
    let body = b"Authentication-Results: mx.test; dkim=pass (forged)\nSubject: s\n\nbody\n";
    let m = message(&d.0, body);
    let strip = claimed(m.head(), "mx.test");
    assert_eq!(strip.len(), 1);
    let acc = Accepted {
        message: m,
        header: b"Authentication-Results: mx.test; spf=fail\nReceived: r\n".to_vec(),
        strip,
        sender: "s@x".into(),
        recipients: vec![direct("joe@here", target(&[&md], "joe@here")), queued("r@far")],
        durability: Durability::default(),
    };
    let r = run(acc, &q).unwrap();
    let stored = b"Authentication-Results: mx.test; spf=fail\nReceived: r\nSubject: s\n\nbody\n";
    assert_eq!(r.bytes, stored.len() as u64);
    let f = files(&md.join("new"));
    assert_eq!(fs::read(&f[0]).unwrap(), [b"Return-Path: <s@x>\nDelivered-To: joe@here\n".as_slice(), stored].concat());
    assert_eq!(fs::read(q.body_path(r.queued.unwrap().0)).unwrap(), stored.to_vec());
}
