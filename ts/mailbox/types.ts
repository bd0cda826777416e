// The mailbox writers' TypeScript contract. crates/mailbox implements them; ts/mailbox/
// index.ts wraps them. Async forms run off the event loop (main thread); Sync forms are
// for tinypool workers (the local delivery pool), where there is no event loop to block.
//
// A delivery copies the body file (the queue's mess file) inside the core, after the
// given header lines (Return-Path, Delivered-To): the body never passes through JS.
// Failures: any maildir trouble is temporary (qmail); mbox errors map through the errno
// table (EFBIG permanent); a path with `..` or a symlinked parent is refused (4.7.0).

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
}

export interface Mailbox {
  /** Delivers into a maildir; resolves with the file's unique name in new/. */
  deliverMaildir(d: MaildirDelivery): Promise<Outcome<string>>;
  deliverMaildirSync(d: MaildirDelivery): Outcome<string>;
  /** Appends to an mbox under fcntl lock + dotlock; truncates back on failure. */
  deliverMbox(d: MboxDelivery): Promise<Outcome<void>>;
  deliverMboxSync(d: MboxDelivery): Outcome<void>;
}
