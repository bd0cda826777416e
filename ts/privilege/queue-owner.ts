// Root writing a partitioned queue: a short-lived command run by root (`qmta inject`,
// `sendmail` while no daemon listens) becomes the queue's owner before it opens the
// queue, so the message files belong to the qmta account and the daemon can read and
// remove them (qmail-queue is setuid qmailq for the same reason).
//
// Interface: becomeQueueOwner(home) -> Outcome<void>: nothing unless we are root and
// HOME/queue belongs to another uid; then initgroups, setgid, setuid to that owner.
// Failures: the owner has no account, or the switch fails -> temp 4.3.0.
// mayUseQueue(home): true for root, the queue's owner, or anyone while there is no
// queue yet (their own new home): who may read or write it with no daemon running.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { accountByUid } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';
import { dropTo } from './drop.js';

/** See the header. */
export function mayUseQueue(home: string): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return statSync(join(home, 'queue')).uid === process.getuid?.();
  } catch {
    return true;
  }
}

/** Switches root to the owner of HOME/queue for good (see the header). */
export function becomeQueueOwner(home: string): Outcome<void> {
  if (process.getuid?.() !== 0) return ok(undefined);
  let uid: number;
  try {
    uid = statSync(join(home, 'queue')).uid;
  } catch {
    return ok(undefined); // no queue yet: openQueue makes one, root's, as before partitioning
  }
  if (uid === 0) return ok(undefined);
  const account = accountByUid(uid);
  if (account.kind !== 'ok') return account;
  if (!account.value) return temp('4.3.0', `the queue's owner (uid ${uid}) has no account`);
  return dropTo(account.value);
}
