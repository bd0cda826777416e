//! Maildir unique names in the modern cr.yp.to form: `<secs>.M<usec>P<pid>Q<n>.<host>`.
//!
//! secs and usec come from one clock reading, pid is this process, and Q counts the
//! deliveries of this process (shared by all its threads: the tinypool workers live in
//! one process), so two names from one host never collide. The host part has `/` turned
//! into `\057` and `:` into `\072` (maildir spec), is at most 64 bytes like qmail's, and
//! the name starts with a digit, so it never starts with `.` (readers skip dot files).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

static DELIVERIES: AtomicU64 = AtomicU64::new(0);
const HOST_MAX: usize = 64;

/// A fresh unique name for a delivery starting now.
pub fn next_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let q = DELIVERIES.fetch_add(1, Ordering::Relaxed);
    format_name(now.as_secs(), now.subsec_micros(), std::process::id(), q, host())
}

/// The name for the given parts; `host` must already be sanitised.
pub fn format_name(secs: u64, usec: u32, pid: u32, q: u64, host: &str) -> String {
    format!("{secs}.M{usec}P{pid}Q{q}.{host}")
}

/// This machine's name, sanitised once.
pub fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| sanitise_host(&raw_hostname()))
}

fn raw_hostname() -> Vec<u8> {
    let mut buf = [0u8; 256];
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return b"localhost".to_vec();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf[..len].to_vec()
}

/// Escapes `/` and `:` as the maildir spec says; other unprintable bytes become `_`
/// (a name with control bytes would upset readers); cut to 64 bytes like qmail.
pub fn sanitise_host(raw: &[u8]) -> String {
    let mut out = String::new();
    for &b in raw.iter().take(HOST_MAX) {
        match b {
            b'/' => out.push_str("\\057"),
            b':' => out.push_str("\\072"),
            0x21..=0x7e => out.push(b as char),
            _ => out.push('_'),
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_escapes_slash_and_colon() {
        assert_eq!(sanitise_host(b"a/b:c"), "a\\057b\\072c");
        assert_eq!(sanitise_host(b"mx 1\x01"), "mx_1_");
        assert_eq!(sanitise_host(b""), "localhost");
        assert_eq!(sanitise_host(&[b'h'; 200]).len(), HOST_MAX);
    }

    #[test]
    fn names_have_the_modern_form() {
        assert_eq!(format_name(1276528487, 364837, 9451, 3, "host"), "1276528487.M364837P9451Q3.host");
        let n = next_name();
        let parts: Vec<&str> = n.splitn(3, '.').collect();
        assert!(parts[0].bytes().all(|b| b.is_ascii_digit()), "{n}");
        assert!(parts[1].starts_with('M') && parts[1].contains('P') && parts[1].contains('Q'), "{n}");
        assert!(!n.starts_with('.') && !n.contains('/') && !n.contains(':'));
    }

    #[test]
    fn names_are_distinct_within_a_process() {
        let names: std::collections::HashSet<String> = (0..1000).map(|_| next_name()).collect();
        assert_eq!(names.len(), 1000);
    }
}
