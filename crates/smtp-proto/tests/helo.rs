//! EHLO/HELO as a decision (Settings::ask_helo, for an embedder's hook): asked only when
//! enabled, a positive answer gives the usual reply and sets the name, a refusal is sent
//! as given and no name is taken (MAIL still needs a greeting).

mod common;
use common::{accept_all, run, Driver};
use smtp_proto::{Decision, Reply, Settings};

fn asking() -> Settings {
    Settings { ask_helo: true, ..Settings::default() }
}

#[test]
fn not_asked_unless_enabled() {
    let t = run(&Settings::default(), &[b"EHLO c.example\r\n"]);
    assert!(t.decisions.is_empty());
    assert!(t.text().starts_with("250-localhost hello c.example\r\n"));
}

#[test]
fn a_positive_answer_gives_the_usual_reply() {
    let t = run(&asking(), &[b"EHLO c.example\r\nHELO d.example\r\n"]);
    assert_eq!(t.decisions, [Decision::Helo { name: "c.example".into(), ehlo: true }, Decision::Helo { name: "d.example".into(), ehlo: false }]);
    assert!(t.text().starts_with("250-localhost hello c.example\r\n250-PIPELINING\r\n"));
    assert!(t.text().ends_with("250 localhost\r\n"));
}

#[test]
fn a_refusal_is_sent_as_given_and_takes_no_name() {
    let mut d = Driver::new(asking());
    let mut answer = |dec: &Decision| match dec {
        Decision::Helo { name, .. } if name == "bad.example" => Reply::new(550, "5.7.1", "go away"),
        other => accept_all(other),
    };
    d.feed(b"EHLO bad.example\r\nMAIL FROM:<a@b.c>\r\n", &mut answer);
    assert_eq!(d.t.text(), "550 5.7.1 go away\r\n503 5.5.1 send EHLO or HELO first\r\n");
    assert_eq!(d.session.helo(), None);
}
