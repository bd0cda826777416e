//! ETRN (RFC 1985): offered only when enabled, a decision outside transactions, refused
//! with the RFC 5321 codes otherwise, and the policy side's answer sent as given.

mod common;
use common::{accept_all, run, Driver};
use smtp_proto::{Decision, Reply, Settings};

fn etrn() -> Settings {
    Settings { etrn: true, ..Settings::default() }
}

#[test]
fn advertised_only_when_enabled() {
    assert!(run(&etrn(), &[b"EHLO c\r\n"]).text().contains("250 ETRN\r\n"));
    let off = run(&Settings::default(), &[b"EHLO c\r\nETRN dialup.example\r\n"]);
    assert!(!off.text().contains("ETRN"));
    assert!(off.text().ends_with("502 5.5.1 command not implemented\r\n"));
    assert!(off.decisions.is_empty());
}

#[test]
fn decision_carries_the_lowercased_domain_and_the_answer_is_sent_as_given() {
    let mut d = Driver::new(etrn());
    let mut answer = |dec: &Decision| match dec {
        Decision::Etrn { domain } if domain == "empty.example" => Reply::new(251, "2.0.0", "OK, no messages waiting for node empty.example"),
        Decision::Etrn { .. } => Reply::new(459, "4.7.1", "Node not allowed: not a passive domain"),
        other => accept_all(other),
    };
    d.feed(b"HELO c\r\nETRN Empty.Example\r\nETRN other.example\r\n", &mut answer);
    assert_eq!(d.t.decisions, [Decision::Etrn { domain: "empty.example".into() }, Decision::Etrn { domain: "other.example".into() }]);
    assert!(d.t.text().ends_with("251 2.0.0 OK, no messages waiting for node empty.example\r\n459 4.7.1 Node not allowed: not a passive domain\r\n"));
}

#[test]
fn refused_before_helo_inside_a_transaction_and_with_bad_syntax() {
    let t = run(&etrn(), &[b"ETRN dialup.example\r\n"]);
    assert_eq!(t.text(), "503 5.5.1 send EHLO or HELO first\r\n");
    let t = run(&etrn(), &[b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nETRN dialup.example\r\n"]);
    assert!(t.text().ends_with("503 5.5.1 ETRN inside a mail transaction\r\n"));
    let t = run(&etrn(), &[b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\nETRN dialup.example\r\n"]);
    assert!(t.text().ends_with("250 2.0.0 OK, queuing for node dialup.example started\r\n"), "after the message the transaction is over");
    for bad in ["ETRN", "ETRN ", "ETRN a b", "ETRN -bad.example", "ETRN a..b", "ETRN [127.0.0.1]"] {
        let t = run(&etrn(), &[b"EHLO c\r\n", format!("{bad}\r\n").as_bytes()]);
        assert!(t.text().ends_with("501 5.5.4 syntax: ETRN domain\r\n"), "{bad}: {}", t.text());
        assert!(t.decisions.is_empty());
    }
}

#[test]
fn at_and_hash_forms_are_not_supported() {
    let t = run(&etrn(), &[b"EHLO c\r\nETRN @dialup.example\r\nETRN #queue1\r\n"]);
    assert!(t.text().contains("504 5.5.4 ETRN @name not supported, only ETRN domain\r\n"));
    assert!(t.text().ends_with("504 5.5.4 ETRN #name not supported, only ETRN domain\r\n"));
    assert!(t.decisions.is_empty());
}

#[test]
fn an_etrn_loop_is_held_by_the_junk_allowance() {
    let s = Settings { max_junk: 3, max_errors: 2, ..etrn() };
    let t = run(&s, &[b"EHLO c\r\n", &b"ETRN x.example\r\n".repeat(10)]);
    assert!(t.closed);
    assert!(t.text().ends_with("421 4.7.0 too many errors, closing connection\r\n"));
    assert_eq!(t.decisions.len(), 5, "3 allowed, 2 more counted as errors, then closed");
}
