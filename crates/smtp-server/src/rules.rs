//! The rules sessions follow: limits and extensions (smtp-proto's Settings), admission
//! (deny list, connection limits), timeouts, the TLS certificate, and whether the policy
//! reads message content. Pushed whole by the policy side at start and on SIGHUP; a
//! session keeps the rules it was admitted under.
//!
//! Failures: a deny entry that is not an address or a network -> `Err` naming it (the
//! update is refused, nothing changes).

use std::net::IpAddr;
use std::time::Duration;

use accept::Durability;
use smtp_proto::Settings;
use tokio_rustls::TlsAcceptor;

use crate::mail::MailRules;
use crate::policy::Kind;

/// An address or a CIDR network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// "a.b.c.d", "a.b.c.d/n", "::1", "2001:db8::/32".
    pub fn parse(s: &str) -> Result<Network, String> {
        let bad = || format!("not an IP address or network: {s:?}");
        let (a, p) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|&n| n <= max).ok_or_else(bad)?,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => masked(u128::from(u32::from(n)), u128::from(u32::from(a)), 32, self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => masked(u128::from(n), u128::from(a), 128, self.prefix),
            _ => false,
        }
    }
}

fn masked(net: u128, addr: u128, bits: u8, prefix: u8) -> bool {
    let shift = bits - prefix;
    shift >= bits || (net >> shift) == (addr >> shift)
}

/// A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: they are IPv4 peers.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Everything a session and the admission follow.
#[derive(Clone)]
pub struct Rules {
    /// Which version of the policy side's rules these are: every ask names the version
    /// its session was admitted under, so a SIGHUP reaches new connections only.
    pub generation: u64,
    /// Limits and extensions; `starttls` and `tls` are set per listener (`settings_for`).
    pub session: Settings,
    pub deny: Vec<Network>,
    pub max_connections: usize,
    pub max_per_ip: usize,
    /// Per read (control/timeoutsmtpd) and per session.
    pub timeout: Duration,
    pub session_limit: Duration,
    pub tls: Option<TlsAcceptor>,
    /// The policy reads each message before it is made durable (`Ask::Data`), whatever
    /// the MAIL answer said.
    pub ask_data: bool,
    /// Ask the policy before the greeting (`Ask::Connect`).
    pub ask_connect: bool,
    /// How messages delivered at accept time are made durable (control/directsync).
    pub durability: Durability,
    /// MAIL's checks, and when the policy is asked too.
    pub mail: MailRules,
    /// Fault injection for the engine-error test: a read starting with these bytes panics
    /// inside the session, as a bug in the core would. Never set in production.
    pub panic_on: Option<Vec<u8>>,
}

impl Rules {
    /// The session settings for a listener kind.
    pub fn settings_for(&self, kind: Kind) -> Settings {
        Settings { starttls: self.tls.is_some() && kind != Kind::Smtps, tls: kind == Kind::Smtps, ..self.session.clone() }
    }

    pub fn denied(&self, ip: IpAddr) -> bool {
        self.deny.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix_in_their_own_family() {
        let n = Network::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        assert!(Network::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(Network::parse("2001:db8::/32").unwrap().contains("2001:db8:1::9".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains("192.0.2.1".parse().unwrap()));
        for bad in ["x", "10.0.0.0/33", "::/129", "1.2.3.4/-1", ""] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mapped_ipv4_peers_are_ipv4() {
        assert_eq!(canonical("::ffff:127.0.0.1".parse().unwrap()), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(canonical("::1".parse().unwrap()), "::1".parse::<IpAddr>().unwrap());
    }
}
