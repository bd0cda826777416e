// The envelope of one passive-queue message (serialmail's maildirsmtp convention): the
// maildir file starts with the Return-Path and Delivered-To lines qmta's local delivery
// wrote; the sender is the Return-Path, the recipient is the Delivered-To address with
// the passive domain's prefix removed, the body is everything after those two lines.
//
// Interface: readEnvelope(path, prefix) -> Outcome<Envelope>; copyBody(path, offset, to).
// Failures: the file cannot be read -> temp 4.3.0 naming the errno (ioFailure); the first two
// lines are not Return-Path / Delivered-To within MAX_HEAD bytes -> perm 5.6.0; the
// Delivered-To address does not start with the prefix -> perm 5.1.1 (not a message of
// this domain's passive queue). Both leave the message where it is.
// Guarantees: at most MAX_HEAD bytes are read to find the envelope; the body is streamed.

import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';

/** Two header lines of at most ~1000 bytes each (RFC 5321 path limits are far smaller). */
export const MAX_HEAD = 4096;

export interface Envelope {
  readonly sender: string;
  readonly recipient: string;
  /** Where the message proper starts (after the Delivered-To line). */
  readonly offset: number;
}

/** Parses the two leading lines of `head`; the prefix is compared case-insensitively. */
export function parseEnvelope(head: Buffer, prefix: string): Outcome<Envelope> {
  const first = head.indexOf(10);
  const second = first < 0 ? -1 : head.indexOf(10, first + 1);
  if (second < 0) return perm('5.6.0', 'no Return-Path and Delivered-To lines at the top of the message');
  const rp = /^Return-Path: <(.*)>$/i.exec(head.subarray(0, first).toString('latin1'));
  const dt = /^Delivered-To: (\S+)$/i.exec(head.subarray(first + 1, second).toString('latin1'));
  if (!rp || !dt) return perm('5.6.0', 'the message does not start with Return-Path and Delivered-To lines');
  const to = dt[1]!;
  if (!to.toLowerCase().startsWith(prefix.toLowerCase()) || to.length === prefix.length) {
    return perm('5.1.1', `Delivered-To ${to} does not start with ${prefix}`);
  }
  return ok({ sender: rp[1]!, recipient: to.slice(prefix.length), offset: second + 1 });
}

/** Reads at most MAX_HEAD bytes of the file and parses its envelope. */
export async function readEnvelope(path: string, prefix: string): Promise<Outcome<Envelope>> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_HEAD);
      const { bytesRead } = await fh.read(buf, 0, MAX_HEAD, 0);
      return parseEnvelope(buf.subarray(0, bytesRead), prefix);
    } finally {
      await fh.close();
    }
  } catch (err) {
    return ioFailure(err, `read ${path}`);
  }
}

/** An OS error as qmail words it: temporary, naming the operation and the errno. */
export function ioFailure(err: unknown, what: string): Failure {
  const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
  return temp('4.3.0', `Unable to ${what}: ${code}`);
}

/** Copies the message proper (from offset) to `to`, for the SMTP client's body file. */
export async function copyBody(path: string, offset: number, to: string): Promise<Outcome<void>> {
  try {
    await pipeline(createReadStream(path, { start: offset }), createWriteStream(to, { mode: 0o600 }));
    return ok(undefined);
  } catch (err) {
    return ioFailure(err, `copy ${path}`);
  }
}
