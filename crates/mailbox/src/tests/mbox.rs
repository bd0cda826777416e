use std::fs::{self, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use status::Class;

use super::{Scratch, TRICKY_BODY};
use crate::{deliver_mbox, MboxDelivery};

const HEADERS: &[u8] = b"Return-Path: <a@example.org>\nDelivered-To: u@example.net\n";

pub fn deliver(mbox: &Path, sender: &[u8], body: &Path) -> status::Result<()> {
    deliver_mbox(&MboxDelivery::new(mbox, sender, HEADERS, body))
}

/// A reader's view of an mbox: split at From_ lines, drop each message's final blank
/// line, take one `>` off `>+From ` lines. Returns (From_ line, message) pairs.
pub fn parse(mbox: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push((String::from_utf8_lossy(line).into_owned(), Vec::new()));
            continue;
        }
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        let unquoted = if gts > 0 && line[gts..].starts_with(b"From ") { &line[1..] } else { line };
        out.last_mut().expect("mbox starts with a From_ line").1.extend_from_slice(unquoted);
    }
    for (_, msg) in &mut out {
        assert_eq!(msg.pop(), Some(b'\n'), "each message ends with a blank line");
    }
    out
}

#[test]
fn writes_from_line_headers_quoted_body_and_blank_line() {
    let s = Scratch::new();
    let body = s.file("body", TRICKY_BODY);
    let mbox = s.path("mbox");
    deliver(&mbox, b"a b@example.org", &body).unwrap();
    assert_eq!(fs::metadata(&mbox).unwrap().permissions().mode() & 0o777, 0o600);
    let got = fs::read(&mbox).unwrap();
    let first_lf = got.iter().position(|&b| b == b'\n').unwrap();
    let from = String::from_utf8(got[..first_lf].to_vec()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(from.starts_with("From a-b@example.org "), "{from}");
    assert!((-2..=0).any(|d| from[21..] == crate::ctime_utc(now + d)), "{from}");
    let quoted = b"Subject: t\n\n>From the start\n>>From quoted\n.\n..dots\n\xe9t\xe9 \x80\xff\r\nno final newline\n\n";
    assert_eq!(&got[first_lf + 1..], [HEADERS, quoted.as_slice()].concat());
}

#[test]
fn appends_and_reads_back_with_the_same_messages() {
    let s = Scratch::new();
    let mbox = s.path("mbox");
    let bodies: [&[u8]; 3] = [TRICKY_BODY, b"", b"From x\n>From y\nend\n"];
    for (i, b) in bodies.iter().enumerate() {
        let body = s.file(&format!("b{i}"), b);
        deliver(&mbox, if i == 1 { b"" } else { b"s@x" }, &body).unwrap();
    }
    let msgs = parse(&fs::read(&mbox).unwrap());
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0].1, [HEADERS, TRICKY_BODY, b"\n"].concat());
    assert!(msgs[1].0.starts_with("From MAILER-DAEMON "));
    assert_eq!(msgs[1].1, HEADERS);
    assert_eq!(msgs[2].1, [HEADERS, bodies[2]].concat());
    assert!(!s.path("mbox.lock").exists());
}

#[test]
fn a_held_fcntl_lock_gives_qmails_temporary_failure() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let mbox = s.file("mbox", b"");
    let holder = OpenOptions::new().write(true).open(&mbox).unwrap();
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    assert_eq!(unsafe { libc::fcntl(holder.as_raw_fd(), libc::F_OFD_SETLK, &fl) }, 0);
    let mut d = MboxDelivery::new(&mbox, b"", HEADERS, &body);
    d.lock_wait = Duration::from_millis(300);
    let start = Instant::now();
    let f = deliver_mbox(&d).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(f.to_string(), "File has been locked for 0.3 seconds straight. (#4.3.0)");
    drop(holder);
    deliver_mbox(&d).unwrap();
    assert_eq!(parse(&fs::read(&mbox).unwrap()).len(), 1);
}

#[test]
fn a_fresh_dotlock_waits_and_a_stale_one_is_removed() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let mbox = s.path("mbox");
    let lock = s.file("mbox.lock", b"");
    let mut d = MboxDelivery::new(&mbox, b"", HEADERS, &body);
    d.lock_wait = Duration::from_millis(200);
    assert_eq!(deliver_mbox(&d).unwrap_err().status, "4.3.0");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
    deliver_mbox(&d).unwrap();
    assert!(!lock.exists());
    assert_eq!(parse(&fs::read(&mbox).unwrap()).len(), 1);
}

#[test]
fn symlinks_dot_dot_and_odd_files_are_refused() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let target = s.file("target", b"");
    fs::create_dir(s.path("dir")).unwrap();
    symlink(&target, s.path("link")).unwrap();
    symlink(s.path("dir"), s.path("dirlink")).unwrap();
    let cases = [
        (s.path("link"), "link is a symbolic link"),
        (s.path("dirlink/mbox"), "dirlink is a symbolic link"),
        (s.path("dir/../mbox"), ".."),
        (Path::new("/dev/null").to_path_buf(), "not a regular file"),
    ];
    for (path, why) in cases {
        let f = deliver(&path, b"", &body).unwrap_err();
        assert_eq!(f.status, "4.7.0", "{path:?}");
        assert!(f.text.contains(why), "{}", f.text);
    }
    assert_eq!(fs::read(&target).unwrap(), b"");
    assert!(super::names(&s.path("dir")).is_empty());
}

#[test]
fn a_fifo_does_not_hang_the_writer() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let fifo = s.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let f = deliver(&fifo, b"", &body).unwrap_err();
    assert_eq!(f.class, Class::Temporary);
}

#[test]
fn an_overlong_sender_is_refused() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let f = deliver(&s.path("mbox"), &[b'a'; 1001], &body).unwrap_err();
    assert_eq!(f.status, "4.3.0");
    assert!(!s.path("mbox").exists());
}
