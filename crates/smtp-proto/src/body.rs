//! Message body decoding for DATA and BDAT, streaming, in constant memory.
//!
//! DATA (dot mode): the end is exactly CR LF . CR LF (or "." CR LF as the first line);
//! a leading dot is removed from every other line; CR LF becomes LF (the queue stores LF
//! line ends). A bare LF or a bare CR anywhere marks the message as refused (554 5.6.0,
//! CVE-2023-51764/5/6): it is never a line end, so LF.LF, LF.CRLF and CRLF.LF cannot end
//! the data, and CR CR LF is never collapsed.
//!
//! BDAT (no dot mode): the chunk bytes are taken as sent, without dot handling, and the
//! same CR LF -> LF conversion applies; bare CR or LF are refused the same way (decision:
//! refuse rather than normalise, so that what reaches the queue is exactly what the client
//! meant, and a BDAT-received message can be relayed by DATA unchanged).
//!
//! Also counted while decoding: stored size (past `databytes` nothing more is stored),
//! text lines longer than the limit, and hop lines (qmail-smtpd §4.6: header lines that
//! begin with "received" or "delivered", any case, colon not required).
//!
//! Failures: a sink write error stops storing; it is reported at the end (451).

use status::Failure;

/// Where decoded body bytes go (the queue's streaming writer in the bindings).
pub trait BodySink {
    /// Appends decoded body bytes (LF line ends).
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure>;
    /// The body being written is abandoned (RSET, QUIT, EHLO in the middle of BDAT).
    fn abort(&mut self);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CR LF, or at the start of the body).
    LineStart,
    /// Inside a line.
    Inside,
    /// After a CR.
    Cr,
    /// After a leading dot (dot mode).
    Dot,
    /// After a line that so far is "." CR (dot mode).
    DotCr,
}

/// What the decoder saw, reported at the end of the body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyReport {
    /// Decoded size in bytes (counted past the limit too).
    pub size: u64,
    pub hops: u32,
    pub bare_line_end: bool,
    pub too_big: bool,
    pub long_line: bool,
    pub sink_failure: Option<Failure>,
}

/// Streaming body decoder; one per message.
pub struct BodyDecoder {
    dot: bool,
    state: State,
    databytes: u64,
    max_line: usize,
    line_len: usize,
    in_header: bool,
    prefix: [u8; 9],
    prefix_len: usize,
    scratch: Vec<u8>,
    report: BodyReport,
}

const FLUSH_AT: usize = 64 * 1024;

impl BodyDecoder {
    /// `dot`: DATA's dot rules; `databytes` 0 = unlimited; `max_line` 0 = unlimited (CR LF included).
    pub fn new(dot: bool, databytes: u64, max_line: usize) -> Self {
        BodyDecoder {
            dot,
            state: State::LineStart,
            databytes,
            max_line: if max_line == 0 { usize::MAX } else { max_line.saturating_sub(2) },
            line_len: 0,
            in_header: true,
            prefix: [0; 9],
            prefix_len: 0,
            scratch: Vec::new(),
            report: BodyReport::default(),
        }
    }

    /// Ends the body and returns what was seen; a CR at the very end of BDAT is bare.
    pub fn finish(mut self, sink: &mut dyn BodySink) -> BodyReport {
        if self.state == State::Cr {
            self.report.bare_line_end = true;
        }
        self.flush(sink);
        self.report
    }

    /// Decodes `input`; returns (bytes consumed, end of DATA seen). In BDAT mode all is consumed.
    pub fn decode(&mut self, input: &[u8], sink: &mut dyn BodySink) -> (usize, bool) {
        // Decoding adds at most the CR held over from the last read: one allocation for the
        // whole read, where growing line by line reallocated (and copied) about eight times
        // for a 4 KiB message.
        self.scratch.reserve(input.len().min(FLUSH_AT));
        let mut i = 0;
        while i < input.len() {
            // Most of a body is line content: take it up to the next CR or LF at once.
            let run = match self.state {
                State::Inside => memchr::memchr2(b'\r', b'\n', &input[i..]).unwrap_or(input.len() - i),
                _ => 0,
            };
            if run > 0 {
                self.content_run(&input[i..i + run]);
                i += run;
            } else {
                let b = input[i];
                i += 1;
                if self.step(b) {
                    self.flush(sink);
                    return (i, true);
                }
            }
            if self.scratch.len() >= FLUSH_AT {
                self.flush(sink);
            }
        }
        self.flush(sink);
        (input.len(), false)
    }

    /// One byte; true when it completes CR LF . CR LF.
    fn step(&mut self, b: u8) -> bool {
        match self.state {
            State::LineStart if self.dot && b == b'.' => self.state = State::Dot,
            State::LineStart | State::Inside => self.plain(b),
            State::Dot if b == b'\r' => self.state = State::DotCr,
            State::Dot => self.plain(b),
            State::DotCr if b == b'\n' => return true,
            State::DotCr => {
                self.bare(b'\r');
                self.plain(b);
            }
            State::Cr if b == b'\n' => self.line_end(),
            State::Cr => {
                self.bare(b'\r');
                self.plain(b);
            }
        }
        false
    }

    /// A byte inside a line (not after a pending CR).
    fn plain(&mut self, b: u8) {
        match b {
            b'\r' => self.state = State::Cr,
            b'\n' => self.bare(b'\n'),
            _ => {
                self.state = State::Inside;
                self.content(b);
            }
        }
    }

    /// A CR or LF that is not part of CR LF: marks the message, stored as is, never a line end.
    fn bare(&mut self, b: u8) {
        self.report.bare_line_end = true;
        self.state = State::Inside;
        self.content(b);
    }

    fn content(&mut self, b: u8) {
        self.content_run(&[b]);
    }

    /// Line content without CR or LF (a whole run of it at once, or one byte).
    fn content_run(&mut self, run: &[u8]) {
        self.line_len += run.len();
        if self.line_len > self.max_line {
            self.report.long_line = true;
        }
        let take = (self.prefix.len() - self.prefix_len).min(run.len());
        self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&run[..take]);
        self.prefix_len += take;
        self.store(run);
    }

    fn line_end(&mut self) {
        if self.in_header {
            if self.line_len == 0 {
                self.in_header = false;
            } else if is_hop_line(&self.prefix[..self.prefix_len]) {
                self.report.hops = self.report.hops.saturating_add(1);
            }
        }
        self.line_len = 0;
        self.prefix_len = 0;
        self.state = State::LineStart;
        self.store(b"\n");
    }

    /// Counts `bytes` and keeps those within `databytes` (none past it, ever).
    fn store(&mut self, bytes: &[u8]) {
        let before = self.report.size;
        self.report.size += bytes.len() as u64;
        let room = match self.databytes {
            0 => bytes.len(),
            limit => usize::try_from(limit.saturating_sub(before)).unwrap_or(usize::MAX).min(bytes.len()),
        };
        if room < bytes.len() {
            self.report.too_big = true;
        }
        if self.report.sink_failure.is_none() {
            self.scratch.extend_from_slice(&bytes[..room]);
        }
    }

    fn flush(&mut self, sink: &mut dyn BodySink) {
        if self.scratch.is_empty() {
            return;
        }
        if self.report.sink_failure.is_none() {
            if let Err(f) = sink.write(&self.scratch) {
                self.report.sink_failure = Some(f);
            }
        }
        self.scratch.clear();
    }
}

fn is_hop_line(prefix: &[u8]) -> bool {
    let starts = |word: &[u8]| prefix.len() >= word.len() && prefix[..word.len()].eq_ignore_ascii_case(word);
    starts(b"received") || starts(b"delivered")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<u8>);
    impl BodySink for Collect {
        fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
        fn abort(&mut self) {}
    }

    fn data(input: &[u8]) -> (Vec<u8>, usize, bool, BodyReport) {
        let mut sink = Collect::default();
        let mut d = BodyDecoder::new(true, 0, 1000);
        let (used, end) = d.decode(input, &mut sink);
        let r = d.finish(&mut sink);
        (sink.0, used, end, r)
    }

    #[test]
    fn unstuffs_and_converts() {
        let (body, used, end, r) = data(b"a\r\n..b\r\n.c\r\n.\r\nQUIT\r\n");
        assert_eq!(body, b"a\n.b\nc\n");
        assert!(end);
        assert_eq!(used, 15);
        assert!(!r.bare_line_end);
    }

    #[test]
    fn first_line_dot_ends() {
        let (body, used, end, _) = data(b".\r\n");
        assert!(end && body.is_empty() && used == 3);
    }

    #[test]
    fn smuggling_probes_never_end_data() {
        for probe in [&b"a\n.\nb"[..], b"a\n.\r\nb", b"a\r\n.\nb", b"a\r.\r\nb", b"a\r\r\n.\r\r\nb"] {
            let (_, _, end, r) = data(probe);
            assert!(!end, "{probe:?} ended data");
            assert!(r.bare_line_end, "{probe:?} not flagged");
        }
    }

    #[test]
    fn hops_counted_in_header_only() {
        let (_, _, _, r) = data(b"Received: x\r\nDELIVERED-TO: y\r\nReceived-SPF: z\r\nSubject: s\r\n\r\nReceived: no\r\n");
        assert_eq!(r.hops, 3);
    }

    #[test]
    fn size_limit_stops_storing() {
        let mut sink = Collect::default();
        let mut d = BodyDecoder::new(true, 4, 0);
        d.decode(b"abcdefgh\r\n", &mut sink);
        let r = d.finish(&mut sink);
        assert!(r.too_big);
        assert_eq!(r.size, 9);
        assert!(sink.0.len() <= 4);
    }

    #[test]
    fn long_lines_flagged() {
        let mut sink = Collect::default();
        let mut d = BodyDecoder::new(false, 0, 10);
        d.decode(b"12345678\r\n123456789\r\n", &mut sink);
        assert!(d.finish(&mut sink).long_line);
        let mut d = BodyDecoder::new(false, 0, 10);
        d.decode(b"12345678\r\n", &mut sink);
        assert!(!d.finish(&mut sink).long_line);
    }

    /// The bulk path of `decode` against `step` alone, byte by byte, on random bodies made
    /// of the pieces that matter (line ends, dots, hop lines), with and without limits, in random chunks.
    #[test]
    fn bulk_runs_decode_as_single_bytes_do() {
        let tokens: [&[u8]; 9] = [b".", b"\r", b"\n", b"\r\n", b"Received: x", b"DELIVERED-To", b"Deliver", b"a b", b"\r\n.\r\n"];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..3000 {
            let input: Vec<u8> = (0..next(80)).flat_map(|_| tokens[next(tokens.len())]).copied().collect();
            let (dot, databytes, max_line) = (round % 2 == 0, [0, 5, 40][round % 3] as u64, [0, 8][(round / 2) % 2]);
            let mut slow = BodyDecoder::new(dot, databytes, max_line);
            let mut slow_sink = Collect::default();
            let mut slow_used = input.len();
            for (i, &b) in input.iter().enumerate() {
                if slow.step(b) {
                    slow_used = i + 1;
                    break;
                }
            }
            slow.flush(&mut slow_sink);
            let mut fast = BodyDecoder::new(dot, databytes, max_line);
            let mut fast_sink = Collect::default();
            let (mut fast_used, mut at) = (0, 0);
            while at < input.len() {
                let end = (at + 1 + next(64)).min(input.len());
                let (used, done) = fast.decode(&input[at..end], &mut fast_sink);
                fast_used += used;
                at = end;
                if done {
                    break;
                }
            }
            assert_eq!((fast_sink.0, fast_used, fast.report.clone()), (slow_sink.0, slow_used, slow.report.clone()), "{input:?}");
        }
    }

    #[test]
    fn bdat_trailing_cr_is_bare() {
        let mut sink = Collect::default();
        let mut d = BodyDecoder::new(false, 0, 0);
        d.decode(b"a\r", &mut sink);
        assert!(d.finish(&mut sink).bare_line_end);
    }
}
