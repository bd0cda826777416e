//! MAIL FROM as the core decides it: qmail-smtpd's own checks (AUTH on submission,
//! control/badmailfrom) here, in the session, and the policy side asked only when it has
//! something to add: the SPF check of a stranger's sender, or an application's MAIL hook.
//! A relay client's or an authenticated user's MAIL is answered without leaving the core.
//!
//! Failures: none; a refusal is a reply (530 5.7.0, 553 5.7.1).

use std::collections::HashSet;

use smtp_proto::Reply;

use crate::policy::{Kind, Peer};
use crate::rules::Network;

/// What MAIL follows; part of the rules pushed at start and on SIGHUP.
#[derive(Clone, Debug, Default)]
pub struct MailRules {
    /// control/badmailfrom.
    pub badmailfrom: Badmailfrom,
    /// control/relayclients: a session from one of these is a relay client.
    pub relay: Vec<Network>,
    /// Every MAIL goes to the policy (an application's MAIL hook).
    pub ask_always: bool,
    /// A trusted sender's message content goes to the policy (DKIM signing, a DATA hook).
    pub content_trusted: bool,
}

/// control/badmailfrom: "user@domain" or "@domain" entries, lowercased once so that a MAIL
/// costs two lookups whatever the list's length (as qmail's constmap), not a pass over it.
#[derive(Clone, Debug, Default)]
pub struct Badmailfrom(HashSet<String>);

impl Badmailfrom {
    pub fn new(entries: &[String]) -> Badmailfrom {
        Badmailfrom(entries.iter().map(|e| e.to_ascii_lowercase()).collect())
    }

    /// qmail-smtpd's bmfcheck: the whole address, or "@" and its domain; the null sender never.
    fn lists(&self, address: &str) -> bool {
        if address.is_empty() || self.0.is_empty() {
            return false;
        }
        let lower = address.to_ascii_lowercase();
        self.0.contains(&lower) || lower.rfind('@').is_some_and(|at| self.0.contains(&lower[at..]))
    }
}

/// The core's verdict on a MAIL FROM.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Answered here: a refusal, or the 250 with whether the content goes to the policy.
    Reply(Reply, bool),
    /// Passed the core's checks; the policy decides the rest.
    Ask,
}

impl MailRules {
    /// The peer's address is a relay client's (decided once, when the session starts).
    pub fn relay_client(&self, ip: std::net::IpAddr) -> bool {
        self.relay.iter().any(|n| n.contains(ip))
    }

    /// The reply to `peer`'s MAIL FROM:<address>, or Ask when the policy decides the rest.
    pub fn decide(&self, peer: &Peer, address: &str) -> Verdict {
        if peer.kind != Kind::Smtp && peer.user.is_none() {
            return Verdict::Reply(Reply::new(530, "5.7.0", "authentication required"), false);
        }
        if self.badmailfrom.lists(address) {
            return Verdict::Reply(Reply::new(553, "5.7.1", "sorry, your envelope sender is in my badmailfrom list"), false);
        }
        let stranger = !peer.relay && peer.user.is_none();
        if stranger || self.ask_always {
            return Verdict::Ask;
        }
        Verdict::Reply(Reply::new(250, "2.1.0", "sender ok"), self.content_trusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn peer(kind: Kind, relay: bool, user: Option<&str>) -> Peer {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        Peer {
            sid: 1, kind, ip, port: 1, local: "127.0.0.1:25".parse().unwrap(), tls: None, helo: None,
            user: user.map(str::to_string), generation: 1, relay, transaction: 1,
        }
    }

    fn rules() -> MailRules {
        MailRules { badmailfrom: Badmailfrom::new(&["Spam@Bad.test".into(), "@worse.test".into()]), ..MailRules::default() }
    }

    #[test]
    fn badmailfrom_matches_the_address_or_its_domain_in_any_case() {
        let r = rules();
        let trusted = peer(Kind::Smtp, true, None);
        for bad in ["spam@bad.test", "SPAM@BAD.TEST", "x@worse.test", "y@WORSE.test"] {
            assert_eq!(r.decide(&trusted, bad), Verdict::Reply(Reply::new(553, "5.7.1", "sorry, your envelope sender is in my badmailfrom list"), false), "{bad}");
        }
        for good in ["", "spam@bad.test.example", "x@notworse.test", "worse.test@ok.test", "ham@bad.test"] {
            assert!(matches!(r.decide(&trusted, good), Verdict::Reply(ref a, _) if a.code == 250), "{good}");
        }
    }

    #[test]
    fn submission_needs_auth_first() {
        let r = rules();
        assert_eq!(r.decide(&peer(Kind::Submission, true, None), "a@b.test"), Verdict::Reply(Reply::new(530, "5.7.0", "authentication required"), false));
        assert_eq!(r.decide(&peer(Kind::Smtps, false, None), "spam@bad.test").reply_code(), Some(530));
        assert_eq!(r.decide(&peer(Kind::Submission, false, Some("joe")), "a@b.test").reply_code(), Some(250));
    }

    #[test]
    fn strangers_and_hooks_go_to_the_policy_trusted_senders_do_not() {
        let r = MailRules { content_trusted: true, ..rules() };
        assert_eq!(r.decide(&peer(Kind::Smtp, false, None), "a@b.test"), Verdict::Ask);
        assert_eq!(r.decide(&peer(Kind::Smtp, false, None), "spam@bad.test").reply_code(), Some(553));
        assert_eq!(r.decide(&peer(Kind::Smtp, true, None), "a@b.test"), Verdict::Reply(Reply::new(250, "2.1.0", "sender ok"), true));
        assert_eq!(r.decide(&peer(Kind::Smtp, false, Some("joe")), "a@b.test").reply_code(), Some(250));
        let hooked = MailRules { ask_always: true, ..rules() };
        assert_eq!(hooked.decide(&peer(Kind::Smtp, true, None), "a@b.test"), Verdict::Ask);
    }

    #[test]
    fn relay_clients_by_network() {
        let r = MailRules { relay: vec![Network::parse("192.0.2.0/24").unwrap()], ..MailRules::default() };
        assert!(r.relay_client("192.0.2.7".parse().unwrap()));
        assert!(!r.relay_client("198.51.100.1".parse().unwrap()));
    }

    impl Verdict {
        fn reply_code(&self) -> Option<u16> {
            match self {
                Verdict::Reply(r, _) => Some(r.code),
                Verdict::Ask => None,
            }
        }
    }
}
