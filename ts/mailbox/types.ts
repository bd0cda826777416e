// The mailbox writers' TypeScript contract. crates/mailbox implements them; ts/mailbox/
// index.ts wraps them. Async forms run off the event loop (for the main thread: maildir
// on the core's threads, mbox on the libuv pool); Sync forms are for tinypool workers
// (the local delivery pool), where there is no event loop to block.
//
// A delivery copies the body file (the queue's mess file) inside the core, after the
// given header lines (Return-Path, Delivered-To): the body never passes through JS.
// Failures (crates/mailbox/README.md has the table): OS errors map through the errno
// table, all temporary as in qmail except EFBIG (permanent 5.2.2); a path with `..` or a
// symlinked folder, or an mbox that is a symlink or not a regular file, is refused
// (temp 4.7.0); an mbox still locked after the wait is temp 4.3.0.

import type { Outcome } from '../outcome.js';

export interface MaildirDelivery {
  /** The maildir folder (with or without trailing slash); missing tmp/new/cur are created. */
  readonly maildir: string;
  /** Lines written before the body, each ending in LF (e.g. Return-Path, Delivered-To). */
  readonly headers: Uint8Array;
  /** The file whose bytes follow the headers. */
  readonly bodyPath: string;
}

export interface MboxDelivery {
  readonly mbox: string;
  /** Envelope sender for the From_ line ('' becomes MAILER-DAEMON). */
  readonly sender: string;
  readonly headers: Uint8Array;
  readonly bodyPath: string;
  /** How long to wait for the fcntl lock and dotlock; default 30000 (qmail's 30 s). */
  readonly lockWaitMs?: number;
}

export interface Mailbox {
  /** Delivers into a maildir; resolves with the file's unique name in new/. */
  deliverMaildir(d: MaildirDelivery): Promise<Outcome<string>>;
  deliverMaildirSync(d: MaildirDelivery): Outcome<string>;
  /** Appends to an mbox under fcntl lock + dotlock; truncates back on failure. */
  deliverMbox(d: MboxDelivery): Promise<Outcome<void>>;
  deliverMboxSync(d: MboxDelivery): Outcome<void>;
}
