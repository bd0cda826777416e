// A POP3 maildrop over a maildir: the session's view of it and the UPDATE state.
//
// Interface: openMaildrop(maildir, store) -> Outcome<Maildrop>; maildrop.messages,
// pathOf(m), commitDeletions().
// The login scan is the core's (crates/mailbox read.rs through MaildropStore.scan):
// tmp/ files older than 36 h deleted, new/ moved to cur/ as `uniq:2,`, cur/ listed in
// delivery (mtime) order with RFC 1939 sizes.
// Departure from qmail-pop3d: it moves new/ to cur/ at QUIT and hides messages whose
// mtime is the current second; qmta moves at login so the names a session works with
// never change under it, and shows every delivered message (a link into new/ is the
// delivery moment: the file is complete).
// UIDs: the unique name (file name without ":info"), stable across sessions and across
// the new -> cur move; a name that RFC 1939 §7 does not allow as a UID (over 70 octets or
// outside 0x21..0x7E) is replaced by its MD5 in hex, which is just as stable.
// Failures: the scan's, passed through (no maildir -> the errno table's ENOENT).
// Guarantees: nothing is deleted before commitDeletions(), which only unlinks files in
// cur/ that this session listed and marked.

import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, type Outcome } from '../outcome.js';
import type { MaildropStore } from './store.js';

export interface Message {
  /** File name inside cur/. */
  readonly file: string;
  readonly uid: string;
  readonly size: number;
  deleted: boolean;
}

/** Files unlinked at once at QUIT: hides NFS latency, bounds open requests. */
const PARALLEL = 16;

export class Maildrop {
  constructor(
    readonly maildir: string,
    readonly messages: readonly Message[],
  ) {}

  /** The full path of a listed message. */
  pathOf(m: Message): string {
    return join(this.maildir, 'cur', m.file);
  }

  /** Unlinks every message marked deleted; false when some could not be removed. */
  async commitDeletions(): Promise<boolean> {
    const doomed = this.messages.filter((m) => m.deleted);
    let all = true;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let m = doomed[next++]; m !== undefined; m = doomed[next++]) {
        await unlink(this.pathOf(m)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') all = false; // gone already is what we wanted
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, doomed.length) }, worker));
    return all;
  }
}

/** Opens the maildrop at `maildir` (the session must hold its lock). */
export async function openMaildrop(maildir: string, store: MaildropStore): Promise<Outcome<Maildrop>> {
  const scanned = await store.scan(maildir);
  if (scanned.kind !== 'ok') return scanned;
  const messages = scanned.value.map(({ file, size }) => ({ file, uid: uidOf(file), size, deleted: false }));
  return ok(new Maildrop(maildir, messages));
}

/** The RFC 1939 unique-id of a maildir file name. */
export function uidOf(file: string): string {
  const unique = file.split(':')[0] as string;
  if (/^[\x21-\x7e]{1,70}$/.test(unique)) return unique;
  return createHash('md5').update(unique, 'latin1').digest('hex');
}
