//! The same fuzz body on stable Rust, for machines without nightly: random inputs built
//! from SMTP words and random bytes, for a bounded time. Usage: stable-loop SECONDS.
//! A broken invariant panics, which exits non-zero.

use std::time::{Duration, Instant};

const WORDS: &[&[u8]] = &[
    b"EHLO x\r\n", b"HELO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"MAIL FROM:<> SIZE=9999\r\n", b"RCPT TO:<d@e.f>\r\n",
    b"DATA\r\n", b"\r\n.\r\n", b".\r\n", b"..x\r\n", b"BDAT 5\r\n", b"BDAT 3 LAST\r\n", b"RSET\r\n", b"STARTTLS\r\n",
    b"AUTH PLAIN AGJvYgBwdw==\r\n", b"AUTH LOGIN\r\n", b"Ym9i\r\n", b"*\r\n", b"QUIT\r\n", b"ETRN dialup.example\r\n", b"ETRN @x.y\r\n", b"ETRN\r\n", b"\n", b"\r", b".", b"Received: x\r\n",
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
    let mut v = vec![rng.next() as u8];
    for _ in 0..rng.next() % 40 {
        match rng.next() % 4 {
            0 => v.extend((0..rng.next() % 700).map(|_| rng.next() as u8)),
            _ => v.extend_from_slice(WORDS[(rng.next() % WORDS.len() as u64) as usize]),
        }
    }
    v
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
    let mut rng = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    while Instant::now() < end {
        smtp_proto_fuzz::exercise(&input(&mut rng));
        runs += 1;
    }
    println!("stable-loop: {runs} inputs in {secs} s, seed {seed}, no invariant broken");
}
