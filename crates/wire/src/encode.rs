//! The encoder: a byte-at-a-time state machine that turns stored message bytes into
//! SMTP/POP3 wire bytes, fed in pieces of any size.
//!
//! Interface: `Encoder::new(body_lines)`, `feed(input, sink) -> consumed`, `finish(sink)`.
//! Rules (RFC 5321 §4.5.2, RFC 1939 §3 and §11):
//! - every line end goes out as CR LF: LF, CR LF and a bare CR each count as ONE line end
//!   (so CR LF never becomes CR CR LF, and no bare CR or LF ever reaches the wire, which
//!   closes the SMTP smuggling hole for whatever sits in the queue);
//! - a line starting with `.` gets a second `.`;
//! - `body_lines = Some(n)`: only the header, the empty line after it and n body lines
//!   (POP3 TOP); a message with no empty line is all header;
//! - `finish` ends a partial final line with CR LF and appends `.` CR LF.
//!
//! Partial final line: qmail-remote refuses such a message permanently (#5.6.2). qmta
//! appends the missing line end instead: the message is already accepted and queued (a
//! local `sendmail` without a final newline is the usual source), the receiving side
//! would store a final newline anyway, and bouncing would punish the sender for a byte
//! that carries no content. Postfix does the same.
//!
//! Guarantees: the state carries across calls, so a chunk boundary between CR and LF or
//! right before a line-start dot changes nothing; `stuffed()` counts the added dots so
//! the caller can report the size without them (RFC 1870, RFC 1939 sizes).

/// Where encoded bytes go: a buffer, or a counter when only the size is wanted.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A sink that only counts bytes.
#[derive(Default)]
pub struct Counter(pub u64);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

pub const CRLF: &[u8] = b"\r\n";
pub const TERMINATOR: &[u8] = b".\r\n";

/// The encoder's state between two pieces of input.
pub struct Encoder {
    /// The next byte starts a line.
    line_start: bool,
    /// The last byte was a CR (already sent as CR LF): an LF right after it is swallowed.
    after_cr: bool,
    /// Still inside the header (before the first empty line).
    in_header: bool,
    /// Body lines still allowed; None = no limit.
    body_left: Option<u64>,
    /// The line limit was reached: all further input is ignored.
    cut: bool,
    stuffed: u64,
}

impl Encoder {
    /// A fresh encoder; `body_lines` limits the output to the header plus that many body lines.
    pub fn new(body_lines: Option<u64>) -> Self {
        Encoder { line_start: true, after_cr: false, in_header: true, body_left: body_lines, cut: false, stuffed: 0 }
    }

    /// Dots added by dot-stuffing so far.
    pub fn stuffed(&self) -> u64 {
        self.stuffed
    }

    /// True once the line limit has been reached (the rest of the input does not matter).
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// Encodes all of `input` into `sink`.
    pub fn feed<S: Sink>(&mut self, input: &[u8], sink: &mut S) {
        let mut i = 0;
        while i < input.len() && !self.cut {
            if self.after_cr {
                self.after_cr = false;
                if input[i] == b'\n' {
                    i += 1;
                    continue;
                }
            }
            if self.line_start && !self.begin_line(input[i], sink) {
                return;
            }
            i = self.copy_line(&input[i..], sink) + i;
        }
    }

    /// Ends a partial final line and appends the terminator.
    pub fn finish<S: Sink>(&mut self, sink: &mut S) {
        if !self.line_start && !self.cut {
            sink.put(CRLF);
            self.line_start = true;
        }
        sink.put(TERMINATOR);
    }

    /// Line-start bookkeeping for a line whose first byte is `first`: the header/body
    /// boundary, the TOP limit, dot-stuffing. False when the limit cuts the output here.
    fn begin_line<S: Sink>(&mut self, first: u8, sink: &mut S) -> bool {
        let empty = first == b'\r' || first == b'\n';
        if self.in_header {
            self.in_header = !empty;
        } else if let Some(left) = self.body_left.as_mut() {
            if *left == 0 {
                self.cut = true;
                return false;
            }
            *left -= 1;
        }
        if first == b'.' {
            sink.put(b".");
            self.stuffed += 1;
        }
        true
    }

    /// Copies bytes up to and including the next line end; returns how many were consumed.
    fn copy_line<S: Sink>(&mut self, input: &[u8], sink: &mut S) -> usize {
        match input.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                sink.put(&input[..end]);
                sink.put(CRLF);
                self.after_cr = input[end] == b'\r';
                self.line_start = true;
                end + 1
            }
            None => {
                sink.put(input);
                self.line_start = false;
                input.len()
            }
        }
    }
}
