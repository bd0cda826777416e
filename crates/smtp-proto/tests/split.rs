//! Chunked feeding: a whole dialogue split at every byte offset (and byte by byte) must give
//! exactly the transcript of the dialogue fed at once: replies, decisions, stored body.

mod common;
use common::{assert_statuses, run};
use smtp_proto::{Decision, Settings};

const PLAIN: &[u8] = b"EHLO client.example\r\n\
MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME\r\n\
RCPT TO:<bob@example.net>\r\n\
RCPT TO:<carol@example.net>\r\n\
DATA\r\n\
Received: from x\r\n\
Subject: hi\r\n\
\r\n\
..leading dot\r\n\
.\tx\r\n\
\xc3\xa9t\xc3\xa9 8-bit\r\n\
.\r\n\
NOOP\r\n\
MAIL FROM:<>\r\n\
RCPT TO:<postmaster>\r\n\
DATA\r\n\
.\r\n\
RSET\r\n\
VRFY bob\r\n\
QUIT\r\n\
MAIL FROM:<ignored@after.quit>\r\n";

const CHUNKED: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n\
BDAT 7\r\nab\r\ncd\rBDAT 6 LAST\r\n\nef\r\n\rNOOP\r\nQUIT\r\n";

const AUTH: &[u8] = b"EHLO c\r\nAUTH LOGIN\r\nYm9i\r\ncHc=\r\nMAIL FROM:<bob@b.c>\r\nRCPT TO:<x@far.away>\r\n\
BDAT 0 LAST\r\nQUIT\r\n";

const ETRN: &[u8] = b"EHLO c\r\nETRN dialup.example\r\nETRN @dialup.example\r\nETRN\r\n\
MAIL FROM:<a@b.c>\r\nETRN dialup.example\r\nRSET\r\netrn Other.Example\r\nQUIT\r\n";

fn settings() -> Settings {
    Settings { auth: true, auth_without_tls: true, etrn: true, ..Settings::default() }
}

fn check_every_split(dialogue: &[u8]) {
    let whole = run(&settings(), &[dialogue]);
    assert!(whole.closed, "dialogue did not reach QUIT");
    assert_statuses(&whole);
    for k in 0..=dialogue.len() {
        let split = run(&settings(), &[&dialogue[..k], &dialogue[k..]]);
        assert_eq!(split, whole, "split at {k}");
    }
    let bytes: Vec<&[u8]> = dialogue.chunks(1).collect();
    assert_eq!(run(&settings(), &bytes), whole, "byte by byte");
}

#[test]
fn plain_dialogue_at_every_split() {
    check_every_split(PLAIN);
    let t = run(&settings(), &[PLAIN]);
    assert_eq!(t.sink.body, "Received: from x\nSubject: hi\n\n.leading dot\n\tx\n\u{e9}t\u{e9} 8-bit\n".as_bytes());
    assert_eq!(t.codes(), [250, 250, 250, 250, 354, 250, 250, 250, 250, 354, 250, 250, 252, 221]);
    assert!(t.decisions.contains(&Decision::DataEnd { size: 58, hops: 1, refusal: None }));
}

#[test]
fn chunking_dialogue_at_every_split() {
    check_every_split(CHUNKED);
    let t = run(&settings(), &[CHUNKED]);
    // The CR at the end of the first chunk and the LF at the start of the next make one line end.
    assert_eq!(t.sink.body, b"ab\ncd\nef\n");
    let end = t.decisions.last().unwrap();
    assert!(matches!(end, Decision::DataEnd { refusal: Some(r), .. } if r.status == "5.6.0"), "{end:?}");
}

#[test]
fn auth_dialogue_at_every_split() {
    check_every_split(AUTH);
    let t = run(&settings(), &[AUTH]);
    assert!(t.decisions.iter().any(|d| matches!(d, Decision::Auth { user, password, .. } if user == "bob" && password == "pw")));
    assert_eq!(t.codes(), [250, 334, 334, 235, 250, 250, 250, 221]);
}

#[test]
fn overlong_and_bad_lines_at_every_split() {
    let dialogue = [
        b"EHLO c\r\nNOOP ".as_slice(),
        &[b'x'; 700],
        b"\r\nNOOP\nNOOP\r\nAUTH PLAIN ",
        &[b'A'; 600],
        b"\r\nRSET\r\nQUIT\r\n",
    ]
    .concat();
    check_every_split(&dialogue);
    assert_eq!(run(&settings(), &[&dialogue]).codes(), [250, 500, 500, 250, 501, 250, 221]);
}


#[test]
fn etrn_dialogue_at_every_split() {
    check_every_split(ETRN);
    let t = run(&settings(), &[ETRN]);
    assert_eq!(t.codes(), [250, 250, 504, 501, 250, 503, 250, 250, 221]);
    let etrns: Vec<&Decision> = t.decisions.iter().filter(|d| matches!(d, Decision::Etrn { .. })).collect();
    assert_eq!(etrns, [&Decision::Etrn { domain: "dialup.example".into() }, &Decision::Etrn { domain: "other.example".into() }]);
}
