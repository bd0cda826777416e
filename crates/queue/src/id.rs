//! Message ids and their bucket.
//!
//! An id is a decimal number below 2^53 (so JavaScript can hold it as a number if it
//! ever must), printed without leading zeros. It is the file name of the message in
//! every queue folder. Each process draws a random starting point and counts up from
//! it; the body file is created with O_EXCL in mess/, so two writers (two processes,
//! or a counter that met a live message) can never share an id: on EEXIST the caller
//! draws a new random start. Because mess/<id> is the first file created and the last
//! one removed, an id is unique while any file of its message exists (qmail gets the
//! same guarantee from the inode number of the mess file).
//!
//! Bucket: `(id / RUN) % BUCKETS`. Consecutive ids share a bucket for RUN ids, so the
//! commits of one group-commit batch touch one or two subdirectories and share their
//! directory fsyncs; over time the counter sweeps every bucket evenly. With 256 buckets,
//! 1,000,000 queued messages make about 3,900 entries per subdirectory, which ext4's
//! hashed directories look up in O(1) and list quickly. A random start per process keeps
//! short-lived injectors (one message each) spread over all buckets too.

use std::sync::atomic::{AtomicU64, Ordering};

/// Number of subdirectories in each split folder.
pub const BUCKETS: u64 = 256;
/// Consecutive ids that share a bucket.
const RUN: u64 = 64;
/// Ids stay below 2^53.
const LIMIT: u64 = 1 << 53;
/// Ids start at or above 2^32, so they never look like small counters.
const FLOOR: u64 = 1 << 32;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The subdirectory of a split folder that holds `id`.
pub fn bucket(id: u64) -> u64 {
    (id / RUN) % BUCKETS
}

/// Parses an id as printed by `next`; anything else (a path, leading zeros) is refused.
pub fn parse(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    let n: u64 = if ok { s.parse().ok()? } else { return None };
    (FLOOR..LIMIT).contains(&n).then_some(n)
}

/// A fresh id candidate; the caller proves it free by creating mess/<id> with O_EXCL.
pub fn next() -> u64 {
    let mut cur = NEXT.load(Ordering::Relaxed);
    loop {
        let id = if !(FLOOR..LIMIT).contains(&cur) { random_start() } else { cur };
        match NEXT.compare_exchange_weak(cur, id + 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id,
            Err(seen) => cur = seen,
        }
    }
}

/// Jumps to a new random start: called when an id was taken by another process.
pub fn reseed() {
    NEXT.store(random_start(), Ordering::Relaxed);
}

fn random_start() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: buf is a valid writable buffer of buf.len() bytes.
    let got = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    let r = if got == 8 { u64::from_ne_bytes(buf) } else { fallback_entropy() };
    FLOOR + r % (LIMIT / 2 - FLOOR)
}

/// Time and pid when getrandom is unavailable: distinct enough, and O_EXCL decides anyway.
fn fallback_entropy() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_parseable_and_bounded() {
        let a = next();
        let b = next();
        assert_ne!(a, b);
        for n in [a, b] {
            assert_eq!(parse(&n.to_string()), Some(n));
            assert!((FLOOR..LIMIT).contains(&n));
        }
    }

    #[test]
    fn parse_refuses_paths_and_odd_forms() {
        for bad in ["", "../1", "0123", "12a", "1", "99999999999999999", "-5", "4294967296 "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse("4294967296"), Some(4294967296));
    }

    #[test]
    fn consecutive_ids_share_a_bucket_and_buckets_cover_the_range() {
        let base = 64 * 1000;
        assert!((base..base + 64).all(|n| bucket(n) == bucket(base)));
        let seen: std::collections::HashSet<u64> = (0..BUCKETS * RUN).map(|n| bucket(base + n)).collect();
        assert_eq!(seen.len() as u64, BUCKETS);
    }
}
