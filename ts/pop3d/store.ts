// What POP3 needs from the native core: the login scan of a maildrop (crates/mailbox
// read.rs) and a message's bytes as they go on the wire (crates/wire).
//
// Interface: MaildropStore { scan(maildir), open(path, bodyLines?) }; WireChunks
// { next(), close() }. nativeStore (native-store.ts) is the implementation; tests may
// pass their own to provoke failures.
// Contract (crates/wire/src/encode.rs): every line end (LF, CR LF, bare CR) is sent as
// CR LF, a line starting with "." gets another ".", a partial last line is completed,
// and the last chunk ends with ".\r\n"; the scan's sizes count CR LF line ends but
// neither the stuffed dots nor the terminator, so LIST equals what RETR sends (RFC 1939).
// Failures: a file that does not exist -> value undefined (a reader moved it away);
// other I/O errors -> temp or perm as the core reports them.

import type { Outcome } from '../outcome.js';

export interface ScannedMessage {
  /** File name inside cur/. */
  readonly file: string;
  readonly size: number;
}

export interface WireChunks {
  /** The next encoded chunk; null after the terminator. */
  next(): Outcome<Buffer | null>;
  /** Releases the file (also when the client went away mid-message). */
  close(): void;
}

export interface MaildropStore {
  /** Cleans tmp/, moves new/ to cur/, lists cur/ in delivery order with RFC 1939 sizes. */
  scan(maildir: string): Promise<Outcome<readonly ScannedMessage[]>>;
  /** Opens a message for sending, whole or (TOP) header plus `bodyLines` body lines. */
  open(path: string, bodyLines?: number): Outcome<WireChunks | undefined>;
}
