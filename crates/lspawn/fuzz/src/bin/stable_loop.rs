//! The same fuzz body on stable Rust: random frames built from valid fields, mutated
//! bytes and random bytes, for a bounded time. Usage: stable-loop SECONDS.

use std::time::{Duration, Instant};

const FIELDS: &[&[u8]] = &[
    b"local", b"pop3", b"shell", b"0", b"1001", b"4294967295", b"4294967296", b"-1", b"alice", b"", b"/home/alice",
    b"/home/../root", b"/", b"//x", b"/home/alice/", b"-", b"x-y", b"a@b.c", b"a\r\nb", b"5000", b"\xff\xfe",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn input(rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    let n = if rng.next() % 4 == 0 { rng.next() % 14 } else { 11 };
    for _ in 0..n {
        match rng.next() % 8 {
            0 => v.extend((0..rng.next() % 40).map(|_| rng.next() as u8)),
            1 => v.extend(std::iter::repeat_n(b'a', (rng.next() % 9000) as usize)),
            _ => v.extend_from_slice(FIELDS[(rng.next() % FIELDS.len() as u64) as usize]),
        }
        if rng.next() % 16 != 0 {
            v.push(0);
        }
    }
    v
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
    let mut rng = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    while Instant::now() < end {
        lspawn_fuzz::exercise(&input(&mut rng));
        runs += 1;
    }
    println!("stable-loop: {runs} frames in {secs} s, seed {seed}, no invariant broken");
}
