//! mboxrd quoting as a streaming filter: any line matching `^>*From ` gets one more `>`
//! in front, so a reader that removes one `>` from every `^>+From ` line gets the
//! message back exactly (qmail-local does the same; qmail.md §5.9).
//!
//! Interface: `Quoter::write(chunk, out)` any number of times, then `finish(out)`.
//! Memory stays constant whatever the input: a line's leading `>` run is counted, not
//! stored, and the rest of a line is passed through in slices. `finish` adds the LF a
//! message lacks at its end (qmail does).

use std::io::{self, Write};

const FROM: &[u8] = b"From ";
const GTS: [u8; 64] = [b'>'; 64];

#[derive(Clone, Copy)]
enum State {
    /// At a line start: `gts` `>` bytes and the first `matched` bytes of "From " held back.
    Start { gts: u64, matched: usize },
    Middle,
}

/// The mboxrd quoting filter; see the module header.
pub struct Quoter {
    state: State,
    /// Whether any byte came in, and whether the last one was LF.
    seen: bool,
    ends_in_lf: bool,
}

impl Default for Quoter {
    fn default() -> Self {
        Quoter { state: State::Start { gts: 0, matched: 0 }, seen: false, ends_in_lf: false }
    }
}

fn write_gts(out: &mut impl Write, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let k = n.min(GTS.len() as u64);
        out.write_all(&GTS[..k as usize])?;
        n -= k;
    }
    Ok(())
}

impl Quoter {
    /// Quotes `data` (the next bytes of the message) into `out`.
    pub fn write(&mut self, mut data: &[u8], out: &mut impl Write) -> io::Result<()> {
        if let Some(&last) = data.last() {
            self.seen = true;
            self.ends_in_lf = last == b'\n';
        }
        while !data.is_empty() {
            data = match self.state {
                State::Middle => self.pass_line(data, out)?,
                State::Start { gts, matched } => self.scan_start(gts, matched, data, out)?,
            };
        }
        Ok(())
    }

    /// Copies up to and including the next LF; returns what is left.
    fn pass_line<'d>(&mut self, data: &'d [u8], out: &mut impl Write) -> io::Result<&'d [u8]> {
        match data.iter().position(|&b| b == b'\n') {
            Some(i) => {
                out.write_all(&data[..=i])?;
                self.state = State::Start { gts: 0, matched: 0 };
                Ok(&data[i + 1..])
            }
            None => out.write_all(data).map(|_| &data[data.len()..]),
        }
    }

    /// Looks at one byte of a line start; returns what is left.
    fn scan_start<'d>(&mut self, gts: u64, matched: usize, data: &'d [u8], out: &mut impl Write) -> io::Result<&'d [u8]> {
        let b = data[0];
        if matched == 0 && b == b'>' {
            self.state = State::Start { gts: gts + 1, matched };
            return Ok(&data[1..]);
        }
        if b == FROM[matched] {
            if matched + 1 == FROM.len() {
                write_gts(out, gts + 1)?;
                out.write_all(FROM)?;
                self.state = State::Middle;
            } else {
                self.state = State::Start { gts, matched: matched + 1 };
            }
            return Ok(&data[1..]);
        }
        self.release(out)?;
        Ok(data)
    }

    /// Writes out a held-back line start unchanged (it was not a From_ line).
    fn release(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let State::Start { gts, matched } = self.state {
            write_gts(out, gts)?;
            out.write_all(&FROM[..matched])?;
        }
        self.state = State::Middle;
        Ok(())
    }

    /// Ends the message: releases held bytes and adds a final LF if the message lacks one.
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.release(out)?;
        if self.seen && !self.ends_in_lf {
            out.write_all(b"\n")?;
        }
        self.state = State::Start { gts: 0, matched: 0 };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote_in_chunks(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut q = Quoter::default();
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            q.write(c, &mut out).unwrap();
        }
        q.finish(&mut out).unwrap();
        out
    }

    /// A reader's unquoting: one `>` off every `^>+From ` line.
    fn unquote(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in text.split_inclusive(|&b| b == b'\n') {
            let gts = line.iter().take_while(|&&b| b == b'>').count();
            let quoted = gts > 0 && line[gts..].starts_with(FROM);
            out.extend_from_slice(if quoted { &line[1..] } else { line });
        }
        out
    }

    #[test]
    fn from_lines_get_one_more_gt() {
        let input = b"From a\n>From b\n>>From c\nFrom\n>From\nXFrom d\n Fro\nFrom x";
        let want = b">From a\n>>From b\n>>>From c\nFrom\n>From\nXFrom d\n Fro\n>From x\n";
        for chunk in [1, 2, 3, 7, 100] {
            assert_eq!(quote_in_chunks(input, chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn partial_prefix_at_the_end_is_released() {
        assert_eq!(quote_in_chunks(b"ok\n>>Fro", 1), b"ok\n>>Fro\n");
        assert_eq!(quote_in_chunks(b"", 1), b"");
        assert_eq!(quote_in_chunks(b"\n", 1), b"\n");
    }

    #[test]
    fn long_gt_runs_are_counted_not_stored() {
        let mut input = vec![b'>'; 1000];
        input.extend_from_slice(b"From z\n");
        let out = quote_in_chunks(&input, 13);
        assert_eq!(out.len(), input.len() + 1);
        assert_eq!(unquote(&out), input);
    }

    #[test]
    fn quoting_round_trips_for_arbitrary_bytes() {
        let mut seed = 12345u64;
        let alphabet = b">From \n.x\x80\r";
        for _ in 0..300 {
            let len = (seed % 200) as usize;
            let mut input = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                input.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            input.push(b'\n');
            let out = quote_in_chunks(&input, (seed % 9) as usize);
            assert_eq!(unquote(&out), input, "{:?}", String::from_utf8_lossy(&input));
        }
    }
}
