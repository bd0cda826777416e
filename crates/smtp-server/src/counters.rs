//! Cumulative counts of what the SMTP sessions did, kept with relaxed atomics so counting
//! costs the sessions nothing measurable; read whole by the metrics exporter at scrape time
//! (ts/metrics/smtp.ts names the metrics).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::policy::Kind;

/// How an incoming connection ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Accepted,
    /// denyclients: 554 at connect.
    Denied,
    /// maxconnections or maxconnectionsperip: 421.
    Limited,
    /// The server is shutting down: 421.
    Closing,
    /// Implicit TLS (smtps) whose handshake failed or timed out.
    TlsFailed,
}

impl Admission {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Admission::Accepted => "accepted",
            Admission::Denied => "refused_deny",
            Admission::Limited => "refused_limit",
            Admission::Closing => "refused_closing",
            Admission::TlsFailed => "tls_failed",
        }
    }
}

const KINDS: [Kind; 3] = [Kind::Smtp, Kind::Submission, Kind::Smtps];
const ADMISSIONS: [Admission; 5] = [Admission::Accepted, Admission::Denied, Admission::Limited, Admission::Closing, Admission::TlsFailed];
const MECHANISMS: [&str; 2] = ["PLAIN", "LOGIN"];
/// Upper bounds of the session-length histogram, in seconds.
pub const SESSION_BOUNDS: [f64; 12] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1200.0, 3600.0];

fn kind_index(k: Kind) -> usize {
    KINDS.iter().position(|x| *x == k).unwrap_or(0)
}

fn zeros<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

pub struct Counters {
    connections: [[AtomicU64; ADMISSIONS.len()]; KINDS.len()],
    starttls: [AtomicU64; KINDS.len()],
    open: [AtomicU64; KINDS.len()],
    /// Replies at the end of a message, by code.
    data_replies: [AtomicU64; 600],
    /// [mechanism][ok, failed]
    auth: [[AtomicU64; 2]; MECHANISMS.len()],
    received_bytes: AtomicU64,
    /// RCPTs the core answered again itself (rcpt_cache.rs).
    rcpt_reused: AtomicU64,
    /// Sessions at or below each bound (not cumulative here), then above the last.
    session_buckets: [AtomicU64; SESSION_BOUNDS.len() + 1],
    session_micros: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            connections: std::array::from_fn(|_| zeros()),
            starttls: zeros(),
            open: zeros(),
            data_replies: zeros(),
            auth: std::array::from_fn(|_| zeros()),
            received_bytes: AtomicU64::new(0),
            rcpt_reused: AtomicU64::new(0),
            session_buckets: zeros(),
            session_micros: AtomicU64::new(0),
        }
    }
}

/// A copy of the counters at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// (listener, admission, count), non-zero ones.
    pub connections: Vec<(Kind, Admission, u64)>,
    /// (listener, sessions, STARTTLS upgrades, open now), every listener kind.
    pub sessions: Vec<(Kind, u64, u64, u64)>,
    /// (reply code, count) for the replies given at the end of a message.
    pub data_replies: Vec<(u16, u64)>,
    /// (mechanism, succeeded, failed).
    pub auth: Vec<(&'static str, u64, u64)>,
    /// Message bytes received (DATA and BDAT, decoded).
    pub received_bytes: u64,
    /// RCPTs answered by the core from an earlier answer of the policy side.
    pub rcpt_reused: u64,
    /// Cumulative counts at each of SESSION_BOUNDS, then the sum of lengths (s) and the count.
    pub session_cumulative: Vec<u64>,
    pub session_seconds: f64,
    pub session_count: u64,
}

fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub fn connection(&self, k: Kind, a: Admission) {
        let ai = ADMISSIONS.iter().position(|x| *x == a).unwrap_or(0);
        add(&self.connections[kind_index(k)][ai], 1);
    }

    pub fn session_opened(&self, k: Kind) {
        add(&self.open[kind_index(k)], 1);
    }

    pub fn session_closed(&self, k: Kind, length: Duration) {
        self.open[kind_index(k)].fetch_sub(1, Ordering::Relaxed);
        let secs = length.as_secs_f64();
        let b = SESSION_BOUNDS.iter().position(|&le| secs <= le).unwrap_or(SESSION_BOUNDS.len());
        add(&self.session_buckets[b], 1);
        add(&self.session_micros, u64::try_from(length.as_micros()).unwrap_or(u64::MAX));
    }

    /// The reply at the end of a message of `bytes` bytes.
    pub fn data_reply(&self, code: u16, bytes: u64) {
        if let Some(c) = self.data_replies.get(usize::from(code)) {
            add(c, 1);
        }
        add(&self.received_bytes, bytes);
    }

    pub fn auth(&self, mechanism: &str, ok: bool) {
        if let Some(m) = MECHANISMS.iter().position(|x| *x == mechanism) {
            add(&self.auth[m][usize::from(!ok)], 1);
        }
    }

    pub fn rcpt_reused(&self) {
        add(&self.rcpt_reused, 1);
    }

    pub fn starttls(&self, k: Kind) {
        add(&self.starttls[kind_index(k)], 1);
    }

    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = Snapshot::default();
        for (ki, k) in KINDS.iter().enumerate() {
            for (ai, a) in ADMISSIONS.iter().enumerate() {
                let n = load(&self.connections[ki][ai]);
                if n > 0 {
                    s.connections.push((*k, *a, n));
                }
            }
            s.sessions.push((*k, load(&self.connections[ki][0]), load(&self.starttls[ki]), load(&self.open[ki])));
        }
        s.data_replies = (0..600u16).map(|c| (c, load(&self.data_replies[usize::from(c)]))).filter(|(_, n)| *n > 0).collect();
        s.auth = MECHANISMS.iter().enumerate().map(|(i, m)| (*m, load(&self.auth[i][0]), load(&self.auth[i][1]))).collect();
        s.received_bytes = load(&self.received_bytes);
        s.rcpt_reused = load(&self.rcpt_reused);
        let mut running = 0;
        for b in &self.session_buckets[..SESSION_BOUNDS.len()] {
            running += load(b);
            s.session_cumulative.push(running);
        }
        s.session_count = running + load(&self.session_buckets[SESSION_BOUNDS.len()]);
        s.session_seconds = load(&self.session_micros) as f64 / 1e6;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_what_was_counted() {
        let c = Counters::default();
        c.connection(Kind::Smtp, Admission::Accepted);
        c.connection(Kind::Smtp, Admission::Accepted);
        c.connection(Kind::Smtps, Admission::Denied);
        c.session_opened(Kind::Smtp);
        c.session_opened(Kind::Smtp);
        c.session_closed(Kind::Smtp, Duration::from_millis(30));
        c.starttls(Kind::Smtp);
        c.data_reply(250, 100);
        c.data_reply(552, 7);
        c.auth("PLAIN", true);
        c.auth("LOGIN", false);
        let s = c.snapshot();
        assert_eq!(s.connections, vec![(Kind::Smtp, Admission::Accepted, 2), (Kind::Smtps, Admission::Denied, 1)]);
        assert_eq!(s.sessions[0], (Kind::Smtp, 2, 1, 1));
        assert_eq!(s.data_replies, vec![(250, 1), (552, 1)]);
        assert_eq!(s.auth, vec![("PLAIN", 1, 0), ("LOGIN", 0, 1)]);
        assert_eq!(s.received_bytes, 107);
        assert_eq!(s.session_cumulative[0], 0);
        assert_eq!(s.session_cumulative[1], 1, "30 ms is within 0.05 s");
        assert_eq!((s.session_count, s.session_seconds), (1, 0.03));
    }
}
