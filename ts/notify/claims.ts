// A system account's delivery runs as that account and reports its mailbox writes itself
// (ts/lspawn/report.ts): claims by that account. Every consumer of a notice (the
// embedding API's listener, a newmailhook program or URL) runs as the qmta account, which
// can read what the account cannot (users/, virtual users' mail), so a claim is checked
// before it becomes a notice: the path must be a regular file, not a symbolic link, owned
// by that account, in a folder reached through no symbolic link.
//
// Interface: checkClaim(write, uid) -> undefined when it holds, else why not.
// Limits: the qmta account must be able to search the folders on the way (else the claim
// cannot be checked and gets no notice); the owner can still replace the file after the
// check, so a consumer should treat the path as that account's, not as the daemon's.

import { lstatSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MailboxWrite } from './types.js';

/** Undefined when the file `w` names is `uid`'s own, reached without symbolic links. */
export function checkClaim(w: MailboxWrite, uid: number): string | undefined {
  const file = w.kind === 'maildir' ? w.file : w.mbox;
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return `${file} is not a regular file`;
    if (st.uid !== uid) return `${file} belongs to uid ${st.uid}, not ${uid}`;
    if (realpathSync(dirname(file)) !== dirname(file)) return `${file} is reached through a symbolic link`;
    return undefined;
  } catch (err) {
    return `cannot check ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}
