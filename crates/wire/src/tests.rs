//! Unit tests: the streaming encoder against a whole-input model, at every chunk
//! boundary, plus the file reader (chunk sizes, size, TOP, prefix, errors).

use std::io::Write;
use std::path::PathBuf;

use super::*;

/// Splits into lines the obvious way (CR LF, CR, LF each end a line); the last element
/// is the partial final line, possibly empty.
fn model_lines(input: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let (mut lines, mut cur, mut i) = (Vec::new(), Vec::new(), 0);
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => { lines.push(std::mem::take(&mut cur)); i += 1; }
            b'\r' | b'\n' => lines.push(std::mem::take(&mut cur)),
            b => cur.push(b),
        }
        i += 1;
    }
    (lines, cur)
}

/// The expected wire bytes for `input`, computed line by line.
fn model(input: &[u8], body_lines: Option<usize>) -> Vec<u8> {
    let (mut lines, partial) = model_lines(input);
    if !partial.is_empty() {
        lines.push(partial);
    }
    if let Some(n) = body_lines {
        let header = lines.iter().position(|l| l.is_empty()).map_or(lines.len(), |p| p + 1);
        lines.truncate(header + n);
    }
    let mut out = Vec::new();
    for l in lines {
        if l.first() == Some(&b'.') { out.push(b'.'); }
        out.extend_from_slice(&l);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn encode_in_pieces(input: &[u8], cuts: &[usize], body_lines: Option<u64>) -> Vec<u8> {
    let (mut enc, mut out, mut from) = (Encoder::new(body_lines), Vec::new(), 0);
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        enc.feed(&input[from..c], &mut out);
        from = c;
    }
    enc.finish(&mut out);
    out
}

const SAMPLES: &[&[u8]] = &[
    b"",
    b"a",
    b"\n",
    b".",
    b"..\n",
    b"Subject: x\n\nbody\n.\n..two\n.\r\nend",
    b"a\r\nb\rc\n\r\n.\r.\n\r\r\n\n",
    b"H: 1\r\n\r\n.line\r\nx\r",
    b"\r\r\n\n\r",
    b"one\ntwo\nthree",
    b"H: v\n\n1\n2\n3\n4\n",
];

#[test]
fn whole_input_matches_the_model() {
    for s in SAMPLES {
        for n in [None, Some(0), Some(1), Some(2), Some(10)] {
            assert_eq!(encode_in_pieces(s, &[], n.map(|n| n as u64)), model(s, n), "{s:?} {n:?}");
        }
    }
}

#[test]
fn every_two_piece_split_matches() {
    for s in SAMPLES {
        for cut in 0..=s.len() {
            for n in [None, Some(1)] {
                assert_eq!(encode_in_pieces(s, &[cut], n.map(|n| n as u64)), model(s, n), "{s:?} cut {cut}");
            }
        }
    }
}

#[test]
fn byte_at_a_time_matches() {
    for s in SAMPLES {
        let cuts: Vec<usize> = (1..s.len()).collect();
        assert_eq!(encode_in_pieces(s, &cuts, None), model(s, None), "{s:?}");
    }
}

#[test]
fn random_inputs_and_splits_match() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; seed };
    for _ in 0..3000 {
        let len = (rand() % 40) as usize;
        let input: Vec<u8> = (0..len).map(|_| b".\r\nab"[(rand() % 5) as usize]).collect();
        let mut cuts: Vec<usize> = (0..rand() % 4).map(|_| (rand() as usize) % (len + 1)).collect();
        cuts.sort();
        let n = if rand() % 2 == 0 { None } else { Some((rand() % 4) as usize) };
        assert_eq!(encode_in_pieces(&input, &cuts, n.map(|n| n as u64)), model(&input, n), "{input:?} {cuts:?}");
    }
}

#[test]
fn crlf_is_never_doubled_and_no_bare_cr_or_lf_survives() {
    let out = encode_in_pieces(b"a\r\nb\r\rc\n\nd\r", &[2, 3, 5], None);
    assert_eq!(out, b"a\r\nb\r\n\r\nc\r\n\r\nd\r\n.\r\n");
    let mut i = 0;
    while i < out.len() {
        match out[i] {
            b'\r' => { assert_eq!(out[i + 1], b'\n'); i += 2; }
            b'\n' => panic!("bare LF at {i}"),
            _ => i += 1,
        }
    }
}

#[test]
fn split_between_cr_and_lf_gives_one_line_end() {
    assert_eq!(encode_in_pieces(b"ab\r\ncd\n", &[3], None), b"ab\r\ncd\r\n.\r\n");
}

#[test]
fn line_start_dot_split_from_its_line() {
    // The piece ends right at the line start; the dot arrives alone in the next piece.
    assert_eq!(encode_in_pieces(b"x\n.y\n", &[2, 3], None), b"x\r\n..y\r\n.\r\n");
    // A dot after a CR whose LF comes in the next piece.
    assert_eq!(encode_in_pieces(b"x\r\n.\n", &[2, 3], None), b"x\r\n..\r\n.\r\n");
}

#[test]
fn partial_final_line_gets_a_line_end() {
    assert_eq!(encode_in_pieces(b"no newline", &[], None), b"no newline\r\n.\r\n");
}

#[test]
fn top_counts_body_lines_after_the_empty_line() {
    let msg = b"A: 1\nB: 2\n\nl1\nl2\nl3\n";
    assert_eq!(encode_in_pieces(msg, &[], Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
    assert_eq!(encode_in_pieces(msg, &[], Some(2)), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n.\r\n");
    assert_eq!(encode_in_pieces(b"A: 1\nB: 2", &[], Some(0)), b"A: 1\r\nB: 2\r\n.\r\n");
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wire-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("msg");
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    path
}

fn read_all(r: &mut WireReader, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = r.next(max).unwrap() {
        assert!(!c.is_empty() && c.len() <= max.clamp(1, MAX_CHUNK));
        out.extend_from_slice(&c);
    }
    assert!(r.next(max).unwrap().is_none(), "stays finished");
    out
}

#[test]
fn reader_output_is_the_same_for_every_chunk_size() {
    let body = b"H: v\n\n.a\r\nb\rc\n..\n".repeat(5000);
    let path = temp_file("sizes", &body);
    let expected = model(&body, None);
    for max in [0, 1, 2, 3, 7, 1000, 65536, 1 << 20] {
        let mut r = WireReader::open(&path, Options::default()).unwrap();
        assert_eq!(read_all(&mut r, max), expected, "max {max}");
    }
}

#[test]
fn size_counts_crlf_without_stuffing_or_terminator() {
    let body = b"a\n.b\r\nc\rd";
    let path = temp_file("size", body);
    let mut r = WireReader::open(&path, Options::default()).unwrap();
    // a CRLF .b CRLF c CRLF d CRLF = 3 + 4 + 3 + 3
    assert_eq!(r.size().unwrap(), 13);
    assert_eq!(wire_size(&path, &Options::default()).unwrap(), 13);
    assert_eq!(read_all(&mut r, 4), b"a\r\n..b\r\nc\r\nd\r\n.\r\n", "size leaves the stream alone");
}

#[test]
fn prefix_is_encoded_and_counts_as_header() {
    let path = temp_file("prefix", b"Subject: s\n\nl1\nl2\n");
    let options = Options { prefix: b"Received: x\n".to_vec(), body_lines: Some(1) };
    let mut r = WireReader::open(&path, options.clone()).unwrap();
    assert_eq!(read_all(&mut r, 5), b"Received: x\r\nSubject: s\r\n\r\nl1\r\n.\r\n");
    assert_eq!(wire_size(&path, &options).unwrap(), 13 + 12 + 2 + 4);
}

#[test]
fn empty_file_is_just_the_terminator() {
    let path = temp_file("empty", b"");
    let mut r = WireReader::open(&path, Options::default()).unwrap();
    assert_eq!(r.size().unwrap(), 0);
    assert_eq!(read_all(&mut r, 100), b".\r\n");
}

#[test]
fn memory_stays_bounded_on_a_big_file() {
    // 8 MiB of short lines: the staged buffer never holds much more than one chunk.
    let path = temp_file("big", &b"0123456789abcde\n".repeat(1 << 19));
    let mut r = WireReader::open(&path, Options::default()).unwrap();
    let mut total = 0u64;
    while let Some(c) = r.next(65536).unwrap() {
        total += c.len() as u64;
        assert!(r.staged.len() <= 65536 + 2 * READ_SIZE + 5 && r.staged.capacity() <= 2 * (65536 + 2 * READ_SIZE + 5), "staged {}", r.staged.capacity());
    }
    assert_eq!(total, (17u64 << 19) + 3);
    assert_eq!(r.size().unwrap(), 17u64 << 19);
}

#[test]
fn missing_file_is_a_temporary_failure() {
    let err = WireReader::open(std::path::Path::new("/nonexistent/qmta/msg"), Options::default()).err().unwrap();
    assert!(err.is_temporary());
    assert!(err.text.starts_with("opening message: "), "{}", err.text);
    assert!(wire_size(std::path::Path::new("/nonexistent/qmta/msg"), &Options::default()).is_err());
}

#[test]
fn reading_a_directory_fails_cleanly() {
    let mut r = WireReader::open(&std::env::temp_dir(), Options::default()).unwrap();
    let err = r.next(10).err().unwrap();
    assert!(err.text.starts_with("reading message: "), "{}", err.text);
}
