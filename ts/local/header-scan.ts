// The loop and hop checks of local delivery (qmail.md §5.8, §7.6): scans the message's
// header (up to the first empty line) in bounded chunks.
//
// Interface: scanHeader(bodyPath, dtline) -> { looping, hops } | Failure.
// `looping` = a header line byte-identical to our Delivered-To line (without its LF);
// `hops` = the number of Received: and Delivered-To: lines (qmail's hop count).
// Failures: unreadable body -> temp 4.3.0. Guarantees: memory is one chunk plus one
// partial line capped at MAX_LINE (a longer line cannot be a Delivered-To match anyway).

import { closeSync, openSync, readSync } from 'node:fs';
import { fromException, ok, type Outcome } from '../outcome.js';

const CHUNK = 65536;
const MAX_LINE = 8192;

export interface HeaderFacts {
  readonly looping: boolean;
  readonly hops: number;
}

/** Reads the header of the body file and reports loop and hop facts. */
export function scanHeader(bodyPath: string, dtline: string): Outcome<HeaderFacts> {
  const mine = Buffer.from(dtline.endsWith('\n') ? dtline.slice(0, -1) : dtline);
  let fd: number | undefined;
  try {
    fd = openSync(bodyPath, 'r');
    const state = { looping: false, hops: 0, done: false };
    const buf = Buffer.alloc(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    let pos = 0;
    while (!state.done) {
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) break;
      pos += n;
      carry = scanLines(Buffer.concat([carry, buf.subarray(0, n)]), mine, state);
      if (carry.length > MAX_LINE) carry = carry.subarray(0, MAX_LINE);
    }
    if (!state.done && carry.length > 0) checkLine(carry, mine, state);
    return ok({ looping: state.looping, hops: state.hops });
  } catch (err) {
    return fromException(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Consumes whole lines; returns the unfinished tail. */
function scanLines(data: Buffer, mine: Buffer, state: { looping: boolean; hops: number; done: boolean }): Buffer {
  let start = 0;
  for (;;) {
    const lf = data.indexOf(0x0a, start);
    if (lf < 0) return data.subarray(start);
    const line = data.subarray(start, lf);
    start = lf + 1;
    if (line.length === 0) {
      state.done = true;
      return Buffer.alloc(0);
    }
    checkLine(line, mine, state);
  }
}

const RECEIVED = Buffer.from('received:');
const DELIVERED = Buffer.from('delivered-to:');

function checkLine(line: Buffer, mine: Buffer, state: { looping: boolean; hops: number }): void {
  if (line.equals(mine)) state.looping = true;
  if (startsWithCI(line, RECEIVED) || startsWithCI(line, DELIVERED)) state.hops++;
}

function startsWithCI(line: Buffer, prefix: Buffer): boolean {
  if (line.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const c = line[i]!;
    if ((c >= 0x41 && c <= 0x5a ? c + 32 : c) !== prefix[i]) return false;
  }
  return true;
}
