// The MaildropStore backed by the native core: the login scan from crates/mailbox
// read.rs (async, off the event loop) and RETR/TOP bytes from crates/wire.
//
// Interface: nativeStore (a MaildropStore).
// Failures: as the core reports them (ts/native.ts decodes them); a message file that
// no longer exists when RETR opens it -> undefined ("vanished"), which only happens if
// something other than a POP3 session removed it (the session holds the maildir lock).
// Guarantees: a RETR reads at most CHUNK bytes per call, so a message of any size costs
// one chunk of memory at a time; the reads are synchronous but bounded (64 KiB page-cache
// reads), which keeps every other session responsive.

import { existsSync } from 'node:fs';
import { openMaildrop, openWireStream } from '../native.js';
import { ok } from '../outcome.js';
import type { MaildropStore } from './store.js';

const CHUNK = 64 * 1024;

export const nativeStore: MaildropStore = {
  scan: (maildir) => openMaildrop(maildir),
  open(path, bodyLines) {
    const stream = openWireStream(path, bodyLines === undefined ? {} : { bodyLines });
    if (stream.kind !== 'ok') return existsSync(path) ? stream : ok(undefined);
    return ok({ next: () => stream.value.read(CHUNK), close: () => undefined });
  },
};
