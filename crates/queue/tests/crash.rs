//! Crash tests: a child process (this test binary, re-run with QMTA_CRASH_CHILD set) adds,
//! preprocesses or removes messages and is killed with SIGKILL at a named step of the k-th
//! operation (fault-injection feature, see src/fault.rs). The parent then runs recovery
//! and checks qmail's promise: every committed message is intact (body and envelope),
//! every uncommitted one is gone (or quarantined), and nothing half-done is visible.
//!
//! The child writes a journal line after each operation returns (fsync'd): what it
//! acknowledged. A message may be committed without an acknowledgement (a crash between
//! the commit point and the reply); it must then be intact too.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use queue::{Channel, Envelope, Options, Queue, GARBAGE_AGE};

const MESSAGES: usize = 4;
const ADD_POINTS: [&str; 9] =
    ["body_created", "body_written", "body_synced", "intd_created", "intd_written", "intd_synced", "before_link", "linked", "committed"];

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("qmta-crash-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn envelope(i: usize) -> Envelope {
    Envelope { sender: b"s@x".to_vec(), recipients: vec![format!("r{i}@here").into_bytes(), format!("r{i}@there").into_bytes()] }
}

fn body(i: usize) -> Vec<u8> {
    format!("Subject: {i}\n\n").into_bytes().into_iter().chain(std::iter::repeat_n(b'a' + i as u8, 10_000)).collect()
}

fn journal(path: &Path, line: &str) {
    let mut f = OpenOptions::new().append(true).create(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
    f.sync_all().unwrap();
}

fn journaled(path: &Path, verb: &str) -> Vec<u64> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|l| l.strip_prefix(verb)?.strip_prefix(' ')?.parse().ok()).collect()
}

/// The child's work: add MESSAGES messages, then (per scenario) preprocess and settle, or remove them;
/// "burst" adds BURST messages at once instead, so they share group-commit batches.
fn scenario(kind: &str, root: &Path, log: &Path) {
    let q = Queue::open(&root.join("queue"), Options::default()).unwrap();
    if kind == "burst" {
        return burst(&q, log);
    }
    let mut ids = Vec::new();
    for i in 0..MESSAGES {
        let mut w = q.create_writer().unwrap();
        w.write(&body(i)).unwrap();
        let n = w.commit(&envelope(i)).unwrap();
        journal(log, &format!("add {n}"));
        ids.push(n);
    }
    for (i, n) in ids.into_iter().enumerate() {
        if kind != "add" {
            q.preprocess(n, &[format!("r{i}@here").into_bytes()], &[format!("r{i}@there").into_bytes()]).unwrap();
            q.settle(n).unwrap(); // as the scheduler does for a message that waits
            journal(log, &format!("pre {n}"));
        }
        if kind == "remove" {
            q.remove(n).unwrap();
            journal(log, &format!("rm {n}"));
        }
    }
}

const BURST: usize = 24;

fn burst(q: &Queue, log: &Path) {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..BURST {
        let mut w = q.create_writer().unwrap();
        w.write(&body(i)).unwrap();
        let tx = tx.clone();
        w.commit_async(envelope(i), move |r| tx.send(r).unwrap());
    }
    for r in rx.iter().take(BURST) {
        journal(log, &format!("add {}", r.unwrap()));
    }
}

/// Runs the scenario in a child killed at `fault` ("point:k"); returns the queue root.
fn crash(kind: &str, fault: &str, d: &Dir) -> Queue {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "scenarios_complete_without_faults", "--nocapture", "--test-threads=1"])
        .env("QMTA_CRASH_CHILD", format!("{kind}:{}", d.0.display()))
        .env("QMTA_QUEUE_FAULT", fault)
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{kind} child at {fault} was not killed: {out:?}");
    Queue::open(&d.0.join("queue"), Options::default()).unwrap()
}

fn recover(q: &Queue) -> queue::Recovery {
    q.recover(SystemTime::now() + GARBAGE_AGE + Duration::from_secs(3600), GARBAGE_AGE).unwrap()
}

/// Checks that message `n` is intact: its body and envelope match one of the scenario's.
fn intact_todo(q: &Queue, n: u64) {
    let t = q.read_todo(n).unwrap();
    let i: usize = String::from_utf8_lossy(&t.envelope.recipients[0])[1..].split('@').next().unwrap().parse().unwrap();
    assert_eq!(t.envelope, envelope(i));
    assert_eq!(fs::read(q.body_path(n)).unwrap(), body(i), "body of {n}");
}

fn all_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() { stack.push(e.path()) } else { out.push(e.path()) }
        }
    }
    out
}

/// Every file left in the queue belongs to one of `ids`.
fn only_files_of(q: &Queue, ids: &HashSet<u64>) {
    for f in all_files(q.root()) {
        let n: u64 = f.file_name().unwrap().to_str().unwrap().parse().unwrap_or(0);
        assert!(ids.contains(&n), "unexpected file {} left after recovery", f.display());
    }
}

#[test]
fn scenarios_complete_without_faults() {
    if let Ok(spec) = std::env::var("QMTA_CRASH_CHILD") {
        let (kind, root) = spec.split_once(':').unwrap();
        return scenario(kind, Path::new(root), &Path::new(root).join("journal"));
    }
    for kind in ["add", "preprocess", "remove", "burst"] {
        let d = Dir::new(&format!("clean-{kind}"));
        scenario(kind, &d.0, &d.0.join("journal"));
        let added = if kind == "burst" { BURST } else { MESSAGES };
        assert_eq!(journaled(&d.0.join("journal"), "add").len(), added);
        let q = Queue::open(&d.0.join("queue"), Options::default()).unwrap();
        let expect_todo = match kind {
            "add" | "burst" => added,
            _ => 0,
        };
        assert_eq!(q.list_todo().unwrap().len(), expect_todo, "{kind}");
        assert_eq!(q.list_queued().unwrap().len(), if kind == "preprocess" { MESSAGES } else { 0 });
    }
}

#[test]
fn a_crash_at_any_step_of_an_add_keeps_committed_messages_and_drops_the_rest() {
    for point in ADD_POINTS {
        let d = Dir::new(&format!("add-{point}"));
        let q = crash("add", &format!("{point}:3"), &d);
        let acked: HashSet<u64> = journaled(&d.0.join("journal"), "add").into_iter().collect();
        assert_eq!(acked.len(), 2, "two adds acknowledged before the crash at {point}");
        let report = recover(&q);
        assert_eq!(report.quarantined, vec![], "{point}");
        let todo: HashSet<u64> = q.list_todo().unwrap().into_iter().collect();
        assert!(todo.is_superset(&acked), "{point}: acknowledged message lost");
        let committed_unacked = todo.len() - acked.len();
        let after_commit_point = point == "linked" || point == "committed";
        assert_eq!(committed_unacked, usize::from(after_commit_point), "{point}");
        todo.iter().for_each(|n| intact_todo(&q, *n));
        only_files_of(&q, &todo);
    }
}

#[test]
fn a_crash_in_the_middle_of_a_group_commit_batch_keeps_every_acknowledged_message() {
    for point in ["body_synced:7", "intd_synced:9", "linked:5", "linked:20", "committed:3"] {
        let d = Dir::new(&format!("burst-{point}"));
        let q = crash("burst", point, &d);
        let acked: HashSet<u64> = journaled(&d.0.join("journal"), "add").into_iter().collect();
        assert_eq!(recover(&q).quarantined, vec![], "{point}");
        let todo: HashSet<u64> = q.list_todo().unwrap().into_iter().collect();
        assert!(todo.is_superset(&acked), "{point}: an acknowledged message was lost");
        assert!(acked.len() < BURST, "{point}: the crash came before every acknowledgement");
        todo.iter().for_each(|n| intact_todo(&q, *n));
        only_files_of(&q, &todo);
    }
}

#[test]
fn a_crash_during_preprocess_is_redone_without_loss() {
    for point in ["info_written", "before_todo_unlink", "todo_unlinked"] {
        let d = Dir::new(&format!("pre-{point}"));
        let q = crash("preprocess", &format!("{point}:2"), &d);
        let added: HashSet<u64> = journaled(&d.0.join("journal"), "add").into_iter().collect();
        assert_eq!(added.len(), MESSAGES);
        assert_eq!(recover(&q).quarantined, vec![], "{point}");
        for n in q.list_todo().unwrap() {
            intact_todo(&q, n);
            let t = q.read_todo(n).unwrap();
            q.preprocess(n, &t.envelope.recipients[..1], &t.envelope.recipients[1..]).unwrap();
        }
        let queued: HashSet<u64> = q.list_queued().unwrap().into_iter().collect();
        assert_eq!(queued, added, "{point}: every message preprocessed exactly once");
        for n in queued {
            assert_eq!(q.recipients(n, Channel::Local).unwrap().len(), 1);
            assert_eq!(q.recipients(n, Channel::Remote).unwrap().len(), 1);
            assert_eq!(q.info(n).unwrap().sender, b"s@x");
        }
    }
}

#[test]
fn a_crash_during_remove_never_leaves_info_without_its_body() {
    let d = Dir::new("remove");
    let q = crash("remove", "before_body_unlink:2", &d);
    let removed: HashSet<u64> = journaled(&d.0.join("journal"), "rm").into_iter().collect();
    assert_eq!(removed.len(), 1);
    let report = recover(&q);
    assert_eq!(report.quarantined, vec![]);
    assert_eq!(report.removed.len(), 1, "the body of the interrupted removal is garbage: {report:?}");
    assert_eq!(q.list_queued().unwrap(), vec![], "the interrupted message lost its info first");
    let waiting: HashSet<u64> = q.list_todo().unwrap().into_iter().collect();
    assert_eq!(waiting.len(), MESSAGES - 2, "messages not reached yet stay queued");
    waiting.iter().for_each(|n| intact_todo(&q, *n));
    only_files_of(&q, &waiting);
}
