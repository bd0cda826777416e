//! Cumulative counts of what the SMTP sessions did, kept with relaxed atomics so counting
//! costs the sessions nothing measurable; read whole by the metrics exporter at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::policy::Kind;

const KINDS: usize = 3;

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
}

const ADMISSIONS: usize = 4;

pub struct Counters {
    connections: [[AtomicU64; ADMISSIONS]; KINDS],
    open: AtomicU64,
    /// Replies to end of data by code: 250, and refusals by their code (4xx/5xx).
    data_replies: [AtomicU64; 600],
    auth_ok: AtomicU64,
    auth_failed: AtomicU64,
    starttls: AtomicU64,
    bytes_in: AtomicU64,
    messages_bytes: AtomicU64,
}

/// A copy of the counters at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// (listener, admission, count) for every non-zero pair.
    pub connections: Vec<(Kind, Admission, u64)>,
    pub open: u64,
    /// (reply code, count) for the replies given at the end of a message.
    pub data_replies: Vec<(u16, u64)>,
    pub auth_ok: u64,
    pub auth_failed: u64,
    pub starttls: u64,
    pub bytes_in: u64,
    /// Bytes of the messages accepted (as received).
    pub messages_bytes: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            connections: Default::default(),
            open: AtomicU64::new(0),
            data_replies: std::array::from_fn(|_| AtomicU64::new(0)),
            auth_ok: AtomicU64::new(0),
            auth_failed: AtomicU64::new(0),
            starttls: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            messages_bytes: AtomicU64::new(0),
        }
    }
}

fn kind_index(k: Kind) -> usize {
    match k {
        Kind::Smtp => 0,
        Kind::Submission => 1,
        Kind::Smtps => 2,
    }
}

const ADMISSION_ORDER: [Admission; ADMISSIONS] = [Admission::Accepted, Admission::Denied, Admission::Limited, Admission::Closing];
const KIND_ORDER: [Kind; KINDS] = [Kind::Smtp, Kind::Submission, Kind::Smtps];

impl Counters {
    pub fn connection(&self, k: Kind, a: Admission) {
        let ai = ADMISSION_ORDER.iter().position(|x| *x == a).unwrap_or(0);
        self.connections[kind_index(k)][ai].fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn data_reply(&self, code: u16, bytes: u64) {
        if let Some(c) = self.data_replies.get(usize::from(code)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if code == 250 {
            self.messages_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    pub fn auth(&self, ok: bool) {
        if ok { &self.auth_ok } else { &self.auth_failed }.fetch_add(1, Ordering::Relaxed);
    }

    pub fn starttls(&self) {
        self.starttls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut connections = Vec::new();
        for (ki, k) in KIND_ORDER.iter().enumerate() {
            for (ai, a) in ADMISSION_ORDER.iter().enumerate() {
                let n = load(&self.connections[ki][ai]);
                if n > 0 {
                    connections.push((*k, *a, n));
                }
            }
        }
        let data_replies = (0..600u16).filter_map(|c| Some((c, load(&self.data_replies[usize::from(c)]))).filter(|(_, n)| *n > 0)).collect();
        Snapshot {
            connections, open: load(&self.open), data_replies, auth_ok: load(&self.auth_ok), auth_failed: load(&self.auth_failed),
            starttls: load(&self.starttls), bytes_in: load(&self.bytes_in), messages_bytes: load(&self.messages_bytes),
        }
    }
}
