//! Wire rules: line framing, bare CR/LF, lengths, smuggling probes, sizes, hops, counts, errors.

mod common;
use common::{accept_all, assert_statuses, run, Driver};
use smtp_proto::{Decision, Reply, Settings};

const START: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n";

fn refusal_of(t: &common::Transcript) -> Option<Reply> {
    t.decisions.iter().find_map(|d| match d {
        Decision::DataEnd { refusal, .. } => Some(refusal.clone()),
        _ => None,
    })?
}

fn last_line(t: &common::Transcript) -> String {
    t.text().lines().last().unwrap_or_default().to_string()
}

#[test]
fn bare_lf_and_cr_in_commands_are_refused() {
    for probe in [&b"NOOP\n"[..], b"NOOP\rX\r\n", b"NO\rOP\r\n", b"NOOP\r\r\n"] {
        let t = run(&Settings::default(), &[probe]);
        assert_eq!(t.text(), "500 5.5.2 bare CR or LF in command line\r\n", "{probe:?}");
    }
}

#[test]
fn overlong_command_is_refused_without_buffering() {
    let mut d = Driver::new(Settings::default());
    let junk = vec![b'x'; 4096];
    for _ in 0..2_560 {
        d.feed(&junk, &mut accept_all); // 10 MiB without a line end
    }
    assert_eq!(d.t.text(), "500 5.5.2 line too long\r\n");
    d.feed(b"\r\nNOOP\r\n", &mut accept_all);
    assert!(d.t.text().ends_with("250 2.0.0 ok\r\n"));
    // The command after an overlong line in the same chunk is still read.
    let both = [b"NOOP ".as_slice(), &[b'x'; 600], b"\r\nNOOP\r\n"].concat();
    assert_eq!(run(&Settings::default(), &[&both]).text(), "500 5.5.2 line too long\r\n250 2.0.0 ok\r\n");
    // 510 bytes + CR LF fits exactly.
    let line = [b"NOOP ".as_slice(), &[b'y'; 505], b"\r\n"].concat();
    assert_eq!(run(&Settings::default(), &[&line]).text(), "250 2.0.0 ok\r\n");
}

#[test]
fn smuggling_probes_get_554_and_smuggled_commands_are_body() {
    for probe in [&b"a\n.\nMAIL FROM:<x@y.z>\n"[..], b"a\n.\r\nMAIL", b"a\r\n.\nRCPT", b"a\r.\r\nx", b"bare\rcr"] {
        let dialogue = [START, probe, b"\r\n.\r\nQUIT\r\n"].concat();
        let t = run(&Settings::default(), &[&dialogue]);
        assert_eq!(refusal_of(&t).unwrap().status, "5.6.0", "{probe:?}");
        assert_eq!(t.decisions.iter().filter(|d| matches!(d, Decision::Mail { .. })).count(), 1, "{probe:?}");
        assert!(t.text().contains("554 5.6.0"), "{probe:?}");
        assert!(t.closed);
    }
}

#[test]
fn long_text_line_is_refused_at_end_of_data() {
    let long = [START, &[b'z'; 999], b"\r\n.\r\n"].concat();
    let t = run(&Settings::default(), &[&long]);
    assert_eq!(last_line(&t), "500 5.5.2 message has a line too long");
    let unlimited = Settings { max_text_line: 0, ..Settings::default() };
    assert_eq!(refusal_of(&run(&unlimited, &[&long])), None);
}

#[test]
fn databytes_counts_each_message_of_a_session_on_its_own() {
    // The fuzz run's case: a refused message, then a second one over the limit in the same
    // session. Each message may store up to databytes, the second no more than that.
    let s = Settings { databytes: 100, ..Settings::default() };
    let mut d = common::Driver::new(s);
    d.feed(&[START, &b"0123456789\r\n".repeat(7), b".\r\n"].concat(), &mut common::accept_all);
    let first = d.t.sink.body.len();
    assert_eq!(first, 77, "the first message is stored whole");
    let next = [&b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"[..], &b"0123456789\r\n".repeat(50), b".\r\n"].concat();
    d.feed(&next, &mut common::accept_all);
    assert_eq!(last_line(&d.t), "552 5.3.4 message size exceeds my databytes limit");
    let second = d.t.sink.body.len() - first;
    assert!(second > 77 && second <= 100, "the second message stored {second} bytes");
}

#[test]
fn databytes_stops_storing_and_gives_552() {
    let s = Settings { databytes: 100, ..Settings::default() };
    let big = [START, &b"0123456789\r\n".repeat(50), b".\r\n"].concat();
    let t = run(&s, &[&big]);
    assert_eq!(last_line(&t), "552 5.3.4 message size exceeds my databytes limit");
    assert!(t.sink.body.len() <= 100);
    assert!(t.text().contains("250-SIZE 100\r\n"));
    let declared = run(&s, &[b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=101\r\n"]);
    assert_eq!(last_line(&declared), "552 5.3.4 message size exceeds my databytes limit");
    assert!(declared.decisions.is_empty());
}

#[test]
fn hop_count_over_100_is_554() {
    let body = |n: usize| [START, &b"Received: x\r\n".repeat(n), b"\r\nbody\r\n.\r\n"].concat();
    assert_eq!(refusal_of(&run(&Settings::default(), &[&body(100)])), None);
    let t = run(&Settings::default(), &[&body(101)]);
    assert_eq!(last_line(&t), "554 5.4.6 too many hops, this message is looping");
}

#[test]
fn recipients_past_the_maximum_get_452() {
    let s = Settings { max_rcpts: 3, max_errors: 100, ..Settings::default() };
    let mut dialogue = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n".to_vec();
    for i in 0..5 {
        dialogue.extend_from_slice(format!("RCPT TO:<r{i}@e.f>\r\n").as_bytes());
    }
    let t = run(&s, &[&dialogue]);
    assert_eq!(t.codes(), [250, 250, 250, 250, 250, 452, 452]);
    assert!(t.text().contains("452 4.5.3 too many recipients"));
}

#[test]
fn error_limit_closes_with_421() {
    let s = Settings { max_errors: 5, ..Settings::default() };
    let t = run(&s, &[&b"BOGUS\r\n".repeat(10)]);
    assert_eq!(t.codes(), [500, 500, 500, 500, 500, 421]);
    assert!(t.closed);
    // Unlimited recipients refused by policy end the same way.
    let mut d = Driver::new(Settings { max_errors: 20, ..Settings::default() });
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", &mut accept_all);
    let mut refuse = |dec: &Decision| match dec {
        Decision::Rcpt { .. } => Reply::new(550, "5.1.1", "no such user"),
        other => accept_all(other),
    };
    for _ in 0..1000 {
        d.feed(b"RCPT TO:<nobody@e.f>\r\n", &mut refuse);
    }
    assert!(d.t.closed);
    assert_eq!(d.t.codes().iter().filter(|&&c| c == 550).count(), 20);
}

#[test]
fn pending_decision_holds_pipelined_input() {
    let mut d = Driver::new(Settings::default());
    let mut sink = common::Collect::default();
    d.session.feed(b"EHLO c\r\n", &mut sink);
    let out = d.session.feed(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nNOOP\r\n", &mut sink);
    assert!(out.replies.is_empty());
    assert!(matches!(out.decision, Some(Decision::Mail { ref address, .. }) if address == "a@b.c"));
    let out = d.session.answer(Reply::new(250, "2.1.0", "ok"), &mut sink).unwrap();
    assert_eq!(out.replies, b"250 2.1.0 ok\r\n");
    assert!(matches!(out.decision, Some(Decision::Rcpt { .. })));
    let out = d.session.answer(Reply::new(550, "5.1.1", "unknown"), &mut sink).unwrap();
    assert_eq!(out.replies, b"550 5.1.1 unknown\r\n250 2.0.0 ok\r\n");
    assert!(d.session.answer(Reply::new(250, "2.0.0", "x"), &mut sink).is_err());
}

#[test]
fn held_input_is_bounded() {
    let s = Settings { max_held: 1000, ..Settings::default() };
    let mut d = Driver::new(s);
    let mut sink = common::Collect::default();
    let out = d.session.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", &mut sink);
    assert!(out.decision.is_some());
    let out = d.session.feed(&[b'x'; 2000], &mut sink);
    assert!(out.close);
    assert_eq!(out.replies, b"421 4.7.0 too much pipelined input, closing\r\n");
}

#[test]
fn malformed_policy_answer_is_temporary() {
    let mut d = Driver::new(Settings::default());
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", &mut |_| Reply::new(250, "5.0.0", "confused"));
    assert!(d.t.text().ends_with("451 4.3.0 local policy error\r\n"));
}

#[test]
fn refusal_overrides_a_positive_answer_and_sink_failure_is_451() {
    let bad = [START, b"x\ny\r\n.\r\n"].concat();
    let t = run(&Settings::default(), &[&bad]);
    assert_eq!(t.codes().last(), Some(&554));
    let mut d = Driver::new(Settings::default());
    d.t.sink.fail_writes = true;
    d.feed(&[START, b"hello\r\n.\r\n"].concat(), &mut accept_all);
    assert_eq!(last_line(&d.t), "451 4.3.0 local error writing the message: disk full (#4.3.1)");
}

#[test]
fn sequence_and_misc_commands() {
    let t = run(
        &Settings::default(),
        &[b"MAIL FROM:<a@b.c>\r\nEHLO c\r\nRCPT TO:<d@e.f>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\n\
DATA\r\nVRFY x\r\nEXPN x\r\nHELP\r\nTURN\r\nRSET x\r\nHELO h\r\nHELO\r\nQUIT junk\r\n"],
    );
    assert_eq!(t.codes(), [503, 250, 503, 503, 250, 503, 554, 252, 502, 214, 502, 501, 250, 501, 221]);
    assert_statuses(&t);
}

#[test]
fn quit_ignores_the_rest() {
    let t = run(&Settings::default(), &[b"QUIT\r\nNOOP\r\n", b"NOOP\r\n"]);
    assert_eq!(t.text(), "221 2.0.0 localhost closing connection\r\n");
    assert!(t.closed);
}

#[test]
fn smtputf8_addresses() {
    let t = run(&Settings::default(), &["EHLO c\r\nMAIL FROM:<jö@b.c> SMTPUTF8\r\nRCPT TO:<ü@ë.f>\r\n".as_bytes()]);
    assert_eq!(t.decisions[1], Decision::Rcpt { address: "ü@ë.f".into() });
    assert!(t.text().contains("250-SMTPUTF8"));
    let t = run(&Settings::default(), &["EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<ü@e.f>\r\n".as_bytes()]);
    assert!(t.text().ends_with("553 5.6.7 non-ASCII address requires SMTPUTF8\r\n"));
}

#[test]
fn junk_commands_past_the_allowance_count_as_errors() {
    let s = Settings { max_junk: 10, max_errors: 5, ..Settings::default() };
    let t = run(&s, &[&b"NOOP\r\n".repeat(30)]);
    assert_eq!(t.codes().iter().filter(|&&c| c == 250).count(), 15);
    assert_eq!(t.codes().last(), Some(&421));
    // An accepted message starts the allowance over.
    let mut d = [b"EHLO c\r\n".as_slice(), &b"RSET\r\n".repeat(10)].concat();
    d.extend_from_slice(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n");
    d.extend_from_slice(&b"NOOP\r\n".repeat(10));
    let t = run(&s, &[&d]);
    assert!(!t.closed);
    assert!(t.codes().iter().all(|&c| c < 400));
}

