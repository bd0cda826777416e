//! A writer stopped after each step, by a failing call or by a crash (a panic that
//! skips every cleanup, as SIGKILL would), and what it leaves behind.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use status::Class;

use super::mbox::{deliver as deliver_mbox, parse};
use super::{big_body, names, Scratch};
use crate::fault::{arm, Fault, Step};
use crate::{deliver_maildir, MaildirDelivery};

/// The steps of a nameless tmp/ file (O_TMPFILE), in order: it is closed after its link.
const NAMELESS_STEPS: [Step; 8] =
    [Step::Nameless, Step::TmpCreated, Step::HeadersWritten, Step::BodyWritten, Step::Synced, Step::Closed, Step::Linked, Step::NewSynced];
/// The steps of a named one (tmp/NAME: a filesystem without O_TMPFILE), closed before it.
const NAMED_STEPS: [Step; 7] =
    [Step::TmpCreated, Step::HeadersWritten, Step::BodyWritten, Step::Synced, Step::Closed, Step::Linked, Step::NewSynced];
/// errno, expected status: one of each class the errno table knows.
const ERRNOS: [(i32, &str); 5] =
    [(libc::EIO, "4.3.0"), (libc::ENOSPC, "4.3.1"), (libc::EDQUOT, "4.2.2"), (libc::EFBIG, "5.2.2"), (libc::EACCES, "4.3.0")];

fn deliver_md(md: &Path, body: &Path) -> status::Result<String> {
    deliver_maildir(&MaildirDelivery { maildir: md, headers: b"Delivered-To: u@x\n", body })
}

/// Each way of writing tmp/, its steps, and how many of them come after the link.
fn modes() -> [(bool, &'static [Step], usize); 2] {
    [(false, &NAMELESS_STEPS, 3), (true, &NAMED_STEPS, 2)]
}

/// Makes the next delivery take the named path, as on a filesystem without O_TMPFILE.
fn arm_named(named: bool) {
    if named {
        arm(Step::Nameless, Fault::Fail(libc::EOPNOTSUPP));
    }
}

#[test]
fn a_maildir_failure_at_any_step_leaves_nothing_in_new_or_tmp() {
    let s = Scratch::new();
    let body = s.file("body", &big_body(200_000));
    let md = s.path("Maildir");
    for (named, steps, _) in modes() {
        for &step in steps {
            for (errno, status) in ERRNOS {
                arm_named(named);
                arm(step, Fault::Fail(errno));
                let f = deliver_md(&md, &body).unwrap_err();
                assert_eq!(f.status, status, "{step:?} errno {errno}");
                assert_eq!(f.class == Class::Permanent, errno == libc::EFBIG);
                assert!(names(&md.join("new")).is_empty(), "{step:?}");
                assert!(names(&md.join("tmp")).is_empty(), "{step:?}");
            }
        }
    }
}

#[test]
fn a_maildir_crash_before_the_link_leaves_no_message_and_no_tmp_file_unless_named() {
    let s = Scratch::new();
    let bytes = big_body(200_000);
    let body = s.file("body", &bytes);
    let md = s.path("Maildir");
    for (named, steps, after_link) in modes() {
        let mut garbage = 0;
        for (i, &step) in steps.iter().enumerate() {
            arm_named(named);
            arm(step, Fault::Crash);
            assert!(catch_unwind(AssertUnwindSafe(|| deliver_md(&md, &body))).is_err(), "{step:?}");
            let linked = i >= steps.len() - after_link;
            let in_new = names(&md.join("new"));
            // After the link the message is delivered and whole; a crash there means one
            // duplicate when the queue retries (at-least-once), never a partial file.
            for name in &in_new {
                assert_eq!(fs::read(md.join("new").join(name)).unwrap(), [b"Delivered-To: u@x\n", bytes.as_slice()].concat());
            }
            assert_eq!(in_new.len(), usize::from(linked), "{step:?}");
            // A named file stays in tmp/ (readers clean it); a nameless one is gone with
            // its descriptor, as the kernel frees it when a process dies.
            garbage += usize::from(named);
            assert_eq!(names(&md.join("tmp")).len(), garbage, "{step:?} named {named}");
            in_new.iter().for_each(|n| fs::remove_file(md.join("new").join(n)).unwrap());
        }
    }
    // After the "restart" the next delivery works as usual.
    deliver_md(&md, &body).unwrap();
    assert_eq!(names(&md.join("new")).len(), 1);
}

#[test]
fn an_mbox_failure_mid_message_truncates_back() {
    let s = Scratch::new();
    let mbox = s.path("mbox");
    deliver_mbox(&mbox, b"first@x", &s.file("b0", b"From one\nbody\n")).unwrap();
    let before = fs::read(&mbox).unwrap();
    let body = s.file("body", &big_body(300_000));
    let steps = [Step::MboxLocked, Step::MboxChunk, Step::MboxWritten, Step::MboxSynced];
    for step in steps {
        for (errno, status) in ERRNOS {
            arm(step, Fault::Fail(errno));
            let f = deliver_mbox(&mbox, b"second@x", &body).unwrap_err();
            assert_eq!(f.status, status, "{step:?} errno {errno}");
            assert_eq!(fs::read(&mbox).unwrap(), before, "{step:?}: truncated back");
            assert!(!s.path("mbox.lock").exists());
        }
    }
    deliver_mbox(&mbox, b"third@x", &body).unwrap();
    let msgs = parse(&fs::read(&mbox).unwrap());
    assert_eq!(msgs.len(), 2);
    assert!(msgs[1].0.starts_with("From third@x "));
}

#[test]
fn the_mbox_chunk_fault_really_stops_mid_message() {
    // Shows that the truncation test above is not vacuous: a crash (no cleanup) at the
    // same point leaves part of the message behind, which is what truncation undoes.
    let s = Scratch::new();
    let mbox = s.path("mbox");
    let len = 300_000;
    arm(Step::MboxChunk, Fault::Crash);
    let body = s.file("body", &big_body(len));
    assert!(catch_unwind(AssertUnwindSafe(|| deliver_mbox(&mbox, b"x@x", &body))).is_err());
    let partial = fs::metadata(&mbox).unwrap().len() as usize;
    assert!(partial > 0 && partial < len, "{partial}");
}
