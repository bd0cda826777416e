//! The Received: line put on top of every accepted message, in qmail-smtpd's form
//! (reference/qmail.md §4.6) plus what qmail never had: the TLS protocol and cipher and the
//! authenticated user (RFC 3848 protocol words ESMTP, ESMTPS, ESMTPA, ESMTPSA). LF line
//! ends: what is stored has LF.
//!
//!   Received: from unknown (HELO client.example) (127.0.0.1)
//!     (authenticated user bob)
//!     by mx.example.org (qmta) with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384); 24 Nov 2026 23:00:00 -0000
//!
//! Guarantee (qmail's): every inserted value has each byte that is not a letter, digit or
//! one of . @ % + / = : - [ ] _ replaced by '?', and is cut at 255 bytes, so a peer cannot
//! inject header lines.

use std::time::{SystemTime, UNIX_EPOCH};

use mailbox::{civil_from_days, MONTHS};

use crate::policy::Peer;

/// Replaces unsafe bytes with '?', at most 255 bytes.
pub fn safe(value: &str) -> String {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b".@%+/=:-[]_".contains(&b);
    value.bytes().take(255).map(|b| if ok(b) { char::from(b) } else { '?' }).collect()
}

/// The Received line for a message from `peer`, received by `host` at `now`.
pub fn received(peer: &Peer, host: &str, now: SystemTime) -> Vec<u8> {
    let helo = peer.helo.as_deref().map(|h| format!(" (HELO {})", safe(h))).unwrap_or_default();
    let proto = format!("ESMTP{}{}", if peer.tls.is_some() { "S" } else { "" }, if peer.user.is_some() { "A" } else { "" });
    let tls = peer.tls.as_ref().map(|t| format!(" ({} {})", safe(&t.protocol), safe(&t.cipher))).unwrap_or_default();
    let auth = peer.user.as_deref().map(|u| format!("\n  (authenticated user {})", safe(u))).unwrap_or_default();
    let ip = safe(&peer.ip.to_string());
    format!("Received: from unknown{helo} ({ip}){auth}\n  by {} (qmta) with {proto}{tls}; {}\n", safe(host), date(now)).into_bytes()
}

/// qmail's date form, UTC: "25 Nov 2026 23:00:00 -0000".
pub fn date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{d} {} {y} {:02}:{:02}:{:02} -0000", MONTHS[(m - 1) as usize], rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Kind, TlsInfo};
    use std::time::Duration;

    #[test]
    fn dates_are_qmails() {
        assert_eq!(date(UNIX_EPOCH), "1 Jan 1970 00:00:00 -0000");
        assert_eq!(date(UNIX_EPOCH + Duration::from_secs(1_795_647_600)), "25 Nov 2026 23:00:00 -0000");
        assert_eq!(date(UNIX_EPOCH + Duration::from_secs(951_782_400)), "29 Feb 2000 00:00:00 -0000");
    }

    #[test]
    fn the_line_names_helo_ip_tls_and_user_safely() {
        let peer = Peer {
            sid: 1, kind: Kind::Submission, ip: "192.0.2.1".parse().unwrap(), port: 4000, local: "192.0.2.9:587".parse().unwrap(),
            tls: Some(TlsInfo { protocol: "TLSv1.3".into(), cipher: "TLS_AES_256_GCM_SHA384".into() }),
            helo: Some("evil\nX-Injected: yes".into()), user: Some("bob".into()), generation: 0, relay: false, transaction: 0,
        };
        let line = String::from_utf8(received(&peer, "mx.example.org", UNIX_EPOCH + Duration::from_secs(1_795_647_600))).unwrap();
        assert_eq!(line, "Received: from unknown (HELO evil?X-Injected:?yes) (192.0.2.1)\n  (authenticated user bob)\n  by mx.example.org (qmta) with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384); 25 Nov 2026 23:00:00 -0000\n");
    }
}
