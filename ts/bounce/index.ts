// Bounces: builds the QSBMF message of a finished message and queues it (qmail.md §7),
// with the null sender <>, or as a double bounce (sender #@[]) to
// doublebounceto@doublebouncehost; a failing double bounce is dropped (triple bounce).
//
// Interface: createBouncer(queue, settings, clock?) -> BounceSink (ts/send/types.ts);
// the scheduler logs "bounce msg" / "triple bounce" and notifies itself of the new id.
// The original is copied by the queue core ({ path, prefix } body: no JS copy) when it
// fits under the cap; a longer one is read up to header + maxBody and cut at a line end,
// with a note, so a huge message is never reflected whole.
// Failures: the queue's failure of add, or an unreadable original -> Failure (temporary:
// the completer retries later and the message stays queued).

import { openSync, readSync, closeSync } from 'node:fs';
import { fromException, isFailure, ok, type Outcome } from '../outcome.js';
import type { BodySource, Queue } from '../queue/types.js';
import { bounceTarget } from '../send/verp.js';
import type { BounceRequest, BounceResult, BounceSink } from '../send/types.js';
import { bounceHead, copyLength } from './compose.js';

export interface BounceSettings {
  /** control/bouncefrom (default MAILER-DAEMON). */
  readonly bouncefrom: string;
  /** control/bouncehost (default me). */
  readonly bouncehost: string;
  /** control/doublebounceto (default postmaster). */
  readonly doublebounceto: string;
  /** control/doublebouncehost (default me). */
  readonly doublebouncehost: string;
  /** control/bouncemaxbytes: bytes of the original's body copied after its header. */
  readonly maxBody: number;
}

/** The bounce sink the scheduler uses. `settings` is read at each bounce (reloadable). */
export function createBouncer(queue: Queue, settings: () => BounceSettings, now: () => number = Date.now): BounceSink {
  return {
    async send(req: BounceRequest): Promise<Outcome<BounceResult>> {
      const s = settings();
      const target = bounceTarget(req.sender);
      if (target.kind === 'triple') return ok({ dropped: true });
      const to = target.kind === 'single' ? target.to : `${s.doublebounceto}@${s.doublebouncehost}`;
      const head = bounceHead({
        originalSender: req.sender, to, from: s.bouncefrom, host: s.bouncehost,
        paragraphs: req.paragraphs, date: now(),
      });
      const body = bodyOf(req.bodyPath, Buffer.from(head), s.maxBody);
      if (isFailure(body)) return body;
      const sender = target.kind === 'single' ? '' : '#@[]';
      const added = await queue.add({ sender, recipients: [to] }, body.value);
      return isFailure(added) ? added : ok({ queued: added.value });
    },
  };
}

function bodyOf(path: string, head: Buffer, maxBody: number): Outcome<BodySource> {
  const len = copyLength(path, maxBody);
  if (isFailure(len)) return len;
  const { size, copy } = len.value;
  if (copy === size) return ok({ path, prefix: head });
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const part = Buffer.alloc(copy);
    const n = readSync(fd, part, 0, copy, 0);
    const note = Buffer.from(`\n[qmta: the last ${size - n} bytes of the original message were not copied]\n`);
    return ok(Buffer.concat([head, part.subarray(0, n), note]));
  } catch (err) {
    return fromException(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
