//! STARTTLS (CVE-2011-0411), AUTH offered only under TLS, BDAT edge cases.

mod common;
use common::{accept_all, run, Driver};
use smtp_proto::{Decision, Mechanism, Settings};

fn tls_settings() -> Settings {
    Settings { starttls: true, auth: true, ..Settings::default() }
}

#[test]
fn starttls_discards_pipelined_plaintext_and_resets() {
    let mut d = Driver::new(tls_settings());
    d.feed(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<v@x.y>\r\n", &mut accept_all);
    assert!(d.t.text().contains("250 STARTTLS\r\n"));
    assert!(!d.t.text().contains("AUTH"));
    assert!(d.t.text().ends_with("220 2.0.0 ready to start TLS\r\n"));
    assert!(d.t.starttls);
    d.feed(b"MAIL FROM:<evil2@x.y>\r\n", &mut accept_all);
    assert!(d.t.decisions.is_empty());
    d.session.tls_started().unwrap();
    assert!(d.session.is_tls() && d.session.helo().is_none());
    let before = d.t.replies.len();
    d.feed(b"MAIL FROM:<a@b.c>\r\nEHLO c\r\nSTARTTLS\r\n", &mut accept_all);
    let after = String::from_utf8_lossy(&d.t.replies[before..]).into_owned();
    assert!(after.starts_with("503 5.5.1 send EHLO or HELO first\r\n"));
    assert!(after.contains("250 AUTH PLAIN LOGIN\r\n") && !after.contains("250 STARTTLS"));
    assert!(after.ends_with("502 5.5.1 STARTTLS not available\r\n"));
    assert!(d.session.tls_started().is_err());
}

#[test]
fn starttls_refused_when_not_offered_or_in_transaction() {
    let t = run(&Settings::default(), &[b"EHLO c\r\nSTARTTLS\r\n"]);
    assert!(t.text().ends_with("502 5.5.1 STARTTLS not available\r\n"));
    let t = run(&tls_settings(), &[b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nSTARTTLS\r\n"]);
    assert!(t.text().ends_with("503 5.5.1 STARTTLS inside a mail transaction\r\n"));
}

#[test]
fn auth_requires_tls_unless_allowed() {
    let t = run(&tls_settings(), &[b"EHLO c\r\nAUTH PLAIN AGJvYgBwdw==\r\n"]);
    assert!(t.text().ends_with("538 5.7.11 encryption required for authentication: STARTTLS first\r\n"));
    assert!(t.decisions.is_empty());
    let implicit = Settings { tls: true, ..tls_settings() };
    let t = run(&implicit, &[b"EHLO c\r\nAUTH PLAIN AGJvYgBwdw==\r\nAUTH PLAIN AGJvYgBwdw==\r\n"]);
    assert_eq!(t.decisions, [Decision::Auth { mechanism: Mechanism::Plain, user: "bob".into(), password: "pw".into() }]);
    assert!(t.text().ends_with("235 2.7.0 authenticated\r\n503 5.5.1 AUTH not allowed now\r\n"));
    assert!(run(&Settings::default(), &[b"EHLO c\r\nAUTH PLAIN\r\n"]).text().ends_with("502 5.5.1 AUTH not available\r\n"));
}

#[test]
fn auth_bad_input() {
    let s = Settings { tls: true, ..tls_settings() };
    let t = run(&s, &[b"EHLO c\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH CRAM-MD5\r\nAUTH PLAIN ZXZlAGJvYgBwdw==\r\nAUTH LOGIN\r\nAA==\r\n"]);
    assert_eq!(t.codes(), [250, 334, 501, 501, 504, 535, 334, 501]);
    assert!(t.decisions.is_empty());
    // A long AUTH line is allowed up to max_auth_line, not beyond.
    let long = [b"AUTH PLAIN ".as_slice(), &[b'A'; 1000], b"\r\n"].concat();
    assert!(run(&s, &[b"EHLO c\r\n", &long]).text().ends_with("501 5.5.2 bad authentication message\r\n"));
    let small = Settings { max_auth_line: 600, ..s };
    assert!(run(&small, &[b"EHLO c\r\n", &long]).text().ends_with("500 5.5.2 line too long\r\n"));
}

#[test]
fn bdat_refusals_consume_the_chunk() {
    let t = run(&Settings::default(), &[b"EHLO c\r\nBDAT 12\r\nMAIL FROM:<>BDAT x\r\nNOOP\r\n"]);
    assert_eq!(t.codes(), [250, 503, 501, 250]);
    let off = Settings { chunking: false, ..Settings::default() };
    let t = run(&off, &[b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"]);
    assert!(!t.text().contains("250-CHUNKING"));
    assert_eq!(t.codes(), [250, 250, 250, 502, 250]);
}

#[test]
fn bdat_refused_start_discards_and_rset_aborts() {
    let mut d = Driver::new(Settings::default());
    let mut refuse_start = |dec: &Decision| match dec {
        Decision::DataStart { .. } => smtp_proto::Reply::new(451, "4.3.0", "queue unavailable"),
        other => accept_all(other),
    };
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 5\r\nhelloNOOP\r\n", &mut refuse_start);
    assert_eq!(d.t.codes(), [250, 250, 250, 451, 250]);
    let mut d = Driver::new(Settings::default());
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 3\r\nabcRSET\r\nDATA\r\n", &mut accept_all);
    assert_eq!(d.t.sink.aborts, 1);
    assert!(d.t.text().ends_with("250 2.0.0 3 octets received\r\n250 2.0.0 flushed\r\n503 5.5.1 need MAIL before DATA\r\n"));
}

#[test]
fn bdat_size_limit_and_data_after_bdat() {
    let s = Settings { databytes: 4, ..Settings::default() };
    let t = run(&s, &[b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 4\r\nabcdDATA\r\nBDAT 4 LAST\r\nefgh"]);
    assert!(t.text().ends_with("503 5.5.1 DATA after BDAT\r\n552 5.3.4 message size exceeds my databytes limit\r\n"));
    assert_eq!(t.sink.body, b"abcd");
}
