use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use status::Class;

use super::{big_body, names, Scratch, TRICKY_BODY};
use crate::fault::{arm, Fault, Step};
use crate::maildir::link_file;
use crate::{deliver_maildir, stage, MaildirDelivery};

const HEADERS: &[u8] = b"Return-Path: <a@example.org>\nDelivered-To: u@example.net\n";

fn deliver(maildir: &Path, headers: &[u8], body: &Path) -> status::Result<String> {
    deliver_maildir(&MaildirDelivery { maildir, headers, body })
}

#[test]
fn creates_the_maildir_and_writes_headers_then_the_body_byte_exact() {
    let s = Scratch::new();
    let body = s.file("body", TRICKY_BODY);
    let md = s.path("Maildir");
    let name = deliver(&md, HEADERS, &body).unwrap();
    for sub in ["", "tmp", "new", "cur"] {
        let mode = fs::metadata(md.join(sub)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{sub}");
    }
    assert_eq!(names(&md.join("new")), vec![name.clone()]);
    assert!(names(&md.join("tmp")).is_empty());
    let got = fs::read(md.join("new").join(&name)).unwrap();
    assert_eq!(got, [HEADERS, TRICKY_BODY].concat());
    assert_eq!(fs::metadata(md.join("new").join(&name)).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_trailing_slash_and_an_existing_maildir_are_fine() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let md = s.path("Maildir/");
    let a = deliver(&md, b"", &body).unwrap();
    let b = deliver(&md, b"", &body).unwrap();
    assert_ne!(a, b);
    assert_eq!(names(&md.join("new")).len(), 2);
    assert_eq!(fs::read(md.join("new").join(a)).unwrap(), b"x\n");
}

#[test]
fn a_large_body_is_copied_exactly() {
    let s = Scratch::new();
    let bytes = big_body(5 * 1024 * 1024 + 17);
    let body = s.file("body", &bytes);
    let md = s.path("Maildir");
    let name = deliver(&md, HEADERS, &body).unwrap();
    assert_eq!(fs::read(md.join("new").join(name)).unwrap(), [HEADERS, &bytes].concat());
}

#[test]
fn dot_dot_and_symlinks_are_refused() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    fs::create_dir(s.path("real")).unwrap();
    symlink(s.path("real"), s.path("link")).unwrap();
    fs::create_dir_all(s.path("box/Maildir")).unwrap();
    symlink(s.path("real"), s.path("box/Maildir/new")).unwrap();
    let cases = [
        (s.path("real/../Maildir"), ".."),
        (s.path("link/Maildir"), "link is a symbolic link"),
        (s.path("link"), "link is a symbolic link"),
        (s.path("box/Maildir"), "new is a symbolic link"),
    ];
    for (path, why) in cases {
        let f = deliver(&path, b"", &body).unwrap_err();
        assert_eq!(f.status, "4.7.0", "{path:?}");
        assert!(f.text.contains(why), "{}", f.text);
    }
    assert!(names(&s.path("real")).is_empty());
}

#[test]
fn a_missing_parent_or_body_is_temporary() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let f = deliver(&s.path("no/such/Maildir"), b"", &body).unwrap_err();
    assert_eq!((f.class, f.status.as_str()), (Class::Temporary, "4.2.1"));
    let f = deliver(&s.path("Maildir"), b"", &s.path("missing")).unwrap_err();
    assert_eq!(f.class, Class::Temporary);
    assert!(f.text.contains("opening body"), "{}", f.text);
}

#[test]
fn header_bytes_are_checked() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let f = deliver(&s.path("Maildir"), b"Delivered-To: x", &body).unwrap_err();
    assert_eq!(f.status, "4.3.0");
    let huge = vec![b'\n'; crate::HEADERS_MAX + 1];
    assert_eq!(deliver(&s.path("Maildir"), &huge, &body).unwrap_err().status, "4.3.0");
}

#[test]
fn concurrent_deliveries_get_distinct_names() {
    let s = Scratch::new();
    let body = s.file("body", b"x\n");
    let md = s.path("Maildir");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| (0..25).for_each(|_| drop(deliver(&md, HEADERS, &body).unwrap())));
        }
    });
    assert_eq!(names(&md.join("new")).len(), 100);
    assert!(names(&md.join("tmp")).is_empty());
}

#[test]
fn one_openat2_refuses_a_symlink_at_any_depth() {
    let s = Scratch::new();
    fs::create_dir_all(s.path("a/b/c")).unwrap();
    symlink(s.path("a"), s.path("la")).unwrap();
    symlink(s.path("a/b"), s.path("a/lb")).unwrap();
    symlink(s.path("a/b/c"), s.path("a/b/lc")).unwrap();
    let open = |p: &str| crate::sys::open_no_symlinks(s.path(p).as_os_str().as_encoded_bytes(), libc::O_PATH | libc::O_DIRECTORY);
    assert!(open("a/b/c").is_ok());
    for linked in ["la/b/c", "a/lb/c", "a/b/lc", "a/b/lc/"] {
        assert_eq!(open(linked).unwrap_err().raw_os_error(), Some(libc::ELOOP), "{linked}");
    }
    assert_eq!(open("a/b/missing").unwrap_err().raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn a_staged_file_has_no_name_in_tmp_unless_the_filesystem_lacks_o_tmpfile() {
    let s = Scratch::new();
    let md = s.path("Maildir");
    for named in [false, true] {
        if named {
            arm(Step::Nameless, Fault::Fail(libc::EOPNOTSUPP));
        }
        let mut staged = stage(&md, |f| f.write_all(b"x\n"), |_| Ok(())).unwrap();
        assert_eq!(names(&md.join("tmp")).len(), usize::from(named), "named {named}");
        staged.link().unwrap();
        let name = staged.name().to_string();
        drop(staged);
        assert!(names(&md.join("tmp")).is_empty());
        assert_eq!(fs::read(md.join("new").join(name)).unwrap(), b"x\n");
    }
}

#[test]
fn a_name_taken_in_new_before_the_link_is_left_alone_and_another_is_used() {
    let s = Scratch::new();
    let md = s.path("Maildir");
    let mut staged = stage(&md, |f| f.write_all(b"mine\n"), |_| Ok(())).unwrap();
    let taken = staged.name().to_string();
    fs::write(md.join("new").join(&taken), b"theirs\n").unwrap();
    staged.link().unwrap();
    assert_ne!(staged.name(), taken);
    assert_eq!(fs::read(md.join("new").join(&taken)).unwrap(), b"theirs\n");
    assert_eq!(fs::read(md.join("new").join(staged.name())).unwrap(), b"mine\n");
}

/// A nameless file written in folder `dir` of `s`, and the folder.
fn nameless_in(s: &Scratch, dir: &str) -> (fs::File, fs::File) {
    fs::create_dir_all(s.path(dir)).unwrap();
    let folder = fs::File::open(s.path(dir)).unwrap();
    let mut file = fs::File::from(crate::sys::openat(folder.as_raw_fd(), b".", libc::O_TMPFILE | libc::O_WRONLY, 0o600).unwrap());
    file.write_all(b"body\n").unwrap();
    (file, folder)
}

#[test]
fn a_nameless_file_links_by_its_descriptor_and_never_over_a_name() {
    let s = Scratch::new();
    let (file, folder) = nameless_in(&s, "d");
    let by_fd = AtomicBool::new(true);
    link_file(&file, folder.as_fd(), b"m", &by_fd).unwrap();
    assert_eq!(fs::read(s.path("d/m")).unwrap(), b"body\n");
    assert!(by_fd.load(Ordering::Relaxed), "the descriptor served");
    let clash = link_file(&file, folder.as_fd(), b"m", &by_fd).unwrap_err();
    assert_eq!(clash.raw_os_error(), Some(libc::EEXIST));
}

#[test]
fn a_link_into_a_removed_folder_fails_and_keeps_linking_by_descriptor() {
    let s = Scratch::new();
    let (file, folder) = nameless_in(&s, "gone");
    fs::remove_dir(s.path("gone")).unwrap();
    let by_fd = AtomicBool::new(true);
    let e = link_file(&file, folder.as_fd(), b"m", &by_fd).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert!(by_fd.load(Ordering::Relaxed), "ENOENT from both ways: not a refusal of the descriptor");
}
