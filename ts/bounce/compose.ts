// The QSBMF bounce message (qmail.md §7.3, §7.4), byte for byte as qmail-send's
// injectbounce writes it, except that the copy of the original can be capped.
//
// Interface: bounceHead(b) -> the text before the copy of the original (headers, intro,
// failure paragraphs, break paragraph, Return-Path line); rfc822Date(ms);
// copyLength(file, maxBody) -> how many bytes of the original to copy.
// Guarantees: the intro's first line starts "Hi. This is the" (QSBMF recognition); the
// break paragraph is the only paragraph starting with "-"; no Message-ID and no MIME
// headers, as qmail. The To and Return-Path addresses are quoted as qmail-send's quote2 does,
// by ts/inject/quote.ts's rule (UTF-8 local parts as they are, RFC 6532).
// Failures: an unreadable original -> temp 4.3.0 (retried later).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { quoteAddress } from '../inject/quote.js';
import { fromException, ok, type Outcome } from '../outcome.js';

export interface BounceHeadInput {
  /** Sender of the original message ('' when this is a double bounce). */
  readonly originalSender: string;
  /** Recipient of the bounce. */
  readonly to: string;
  /** From: local part and host (control/bouncefrom, control/bouncehost). */
  readonly from: string;
  readonly host: string;
  readonly paragraphs: string;
  readonly date: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** qmail's date: `D Mon YYYY HH:MM:SS -0000` in UTC, day not padded. */
export function rfc822Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} -0000`;
}

/** Everything of the bounce that precedes the copy of the original. */
export function bounceHead(b: BounceHeadInput): string {
  const single = b.originalSender !== '';
  const intro = single
    ? "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
      "This is a permanent error; I've given up. Sorry it didn't work out.\n"
    : 'I tried to deliver a bounce message to this address, but the bounce bounced!\n';
  const brk = single ? '--- Below this line is a copy of the message.\n' : '--- Below this line is the original bounce.\n';
  return `Date: ${rfc822Date(b.date)}\nFrom: ${b.from}@${b.host}\nTo: ${quoteAddress(b.to)}\nSubject: failure notice\n\n` +
    `Hi. This is the qmail-send program at ${b.host}.\n${intro}\n` +
    b.paragraphs +
    `${brk}\nReturn-Path: <${quoteAddress(b.originalSender)}>\n`;
}

/** How far into the original a header search goes before giving up (bounded read). */
const HEADER_SCAN = 1 << 20;

/** Bytes of the original to copy: all of it, or its header plus maxBody bytes cut at a line end. */
export function copyLength(path: string, maxBody: number): Outcome<{ size: number; copy: number }> {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const scan = Buffer.alloc(Math.min(size, HEADER_SCAN));
    const got = readSync(fd, scan, 0, scan.length, 0);
    const head = headerEnd(scan.subarray(0, got));
    if (size <= head + maxBody) return ok({ size, copy: size });
    const limit = head + maxBody;
    const tail = Buffer.alloc(Math.min(limit, 4096));
    const n = readSync(fd, tail, 0, tail.length, limit - tail.length);
    const lf = tail.subarray(0, n).lastIndexOf(0x0a);
    return ok({ size, copy: lf < 0 ? limit : limit - n + lf + 1 });
  } catch (err) {
    return fromException(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Offset just past the blank line ending the header (or the scanned length without one). */
function headerEnd(buf: Buffer): number {
  if (buf[0] === 0x0a) return 1;
  const i = buf.indexOf('\n\n');
  return i < 0 ? buf.length : i + 2;
}
