// A queue that DKIM-signs what goes into it: the one place where qmta's own producers
// (qmta inject, sendmail, Mta.send, lists, bounces) queue signed mail. Signing happens once,
// before the commit, so a message in the queue is final.
//
// Interface: signingQueue(queue, keyring, opts?) -> Queue (prepend-queue.ts: createWriter()
// spools and signs at commit, add() signs bytes or {path, prefix} bodies). keyring is read
// per message (a SIGHUP's new keys apply to the next one); with no keys at all messages go
// straight to the queue. senderDomain(sender) is exported for the SMTP service's signer.
// The signing domain is the From field's, else the envelope sender's (signMessage).
// Failures: signing failures (sign.ts) and spool I/O (temp 4.3.0) abort the message.
// Guarantees: those of prepend-queue.ts (body never a JS string, bounded memory, fsync'd commit).

import type { Queue } from '../queue/types.js';
import type { Keyring } from './keyring.js';
import { prependingQueue, type SpoolOptions } from './prepend-queue.js';
import { signMessage } from './sign.js';

export type SigningQueueOptions = SpoolOptions;

/** The domain of an envelope sender, qmail's VERP form P@H-@[] read as P@H; undefined for <>. */
export function senderDomain(sender: string): string | undefined {
  const s = sender.endsWith('-@[]') ? sender.slice(0, -4) : sender;
  const at = s.lastIndexOf('@');
  return at < 0 || at === s.length - 1 ? undefined : s.slice(at + 1);
}

/** `queue`, signing every message added through createWriter() and add(). */
export function signingQueue(queue: Queue, keyring: () => Keyring, opts: SigningQueueOptions = {}): Queue {
  return prependingQueue(queue, () => {
    const ring = keyring();
    if (ring.size === 0) return undefined;
    return (message, envelope) => signMessage(ring, message, { fallbackDomain: senderDomain(envelope.sender) });
  }, opts);
}
