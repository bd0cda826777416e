// A job: one pass over one channel of one message (qmail.md §2.5).
//
// Interface: openJob(queue, id, channel, now, lifetime) -> Outcome<Job>. A job holds the
// pass's fixed facts (birth, sender, the retry time fixed when the pass starts, whether
// the message is dying) and its unstarted deliveries: one per local recipient, one per
// (domain, sender) group for remote recipients.
// Failures: an unreadable info or channel file -> the queue's Failure; a throwing queue
// call -> temp 4.3.0 (the caller logs a warning and retries later). Only jobs being worked on exist as objects: an idle job is
// an entry in the DueHeap.

import { fromException, isFailure, ok, type Outcome } from '../outcome.js';
import type { Channel, MessageId, Queue, Recipient } from '../queue/types.js';
import { isDying, nextRetry } from './retry.js';
import { expandSender } from './verp.js';

export interface Delivery {
  /** Expanded envelope sender shared by every recipient of this delivery. */
  readonly sender: string;
  /** Lowercased domain (remote groups; '' for local). */
  readonly domain: string;
  readonly recipients: readonly Recipient[];
}

export interface Job {
  readonly id: MessageId;
  readonly channel: Channel;
  readonly sender: string;
  readonly birth: number;
  readonly bodyPath: string;
  /** Retry time fixed when the pass started. */
  readonly next: number;
  /** Past queuelifetime: deferrals become failures. */
  readonly dying: boolean;
  readonly pending: Delivery[];
  /** Deliveries started and not yet finished. */
  outstanding: number;
  /** Some recipient stays not-done: reschedule at `next`. */
  deferred: boolean;
  /** Delivered by the job's last delivery, its done mark not written yet (results.ts). */
  unmarked?: Recipient;
  /** The message was removed when the job ended: nothing left to complete. */
  removed?: boolean;
}

/** Reads one channel of a message and plans its deliveries. */
export function openJob(queue: Queue, id: MessageId, channel: Channel, now: number, lifetime: number): Outcome<Job> {
  try {
    return readJob(queue, id, channel, now, lifetime);
  } catch (err) {
    return fromException(err);
  }
}

function readJob(queue: Queue, id: MessageId, channel: Channel, now: number, lifetime: number): Outcome<Job> {
  const info = queue.info(id);
  if (isFailure(info)) return info;
  const rcpts = queue.recipients(id, channel);
  if (isFailure(rcpts)) return rcpts;
  const todo = rcpts.value.filter((r) => !r.done);
  const { birth, sender } = info.value;
  return ok({
    id, channel, sender, birth,
    bodyPath: queue.bodyPath(id),
    next: nextRetry(birth, now, channel),
    dying: isDying(birth, now, lifetime),
    pending: channel === 'local' ? planLocal(sender, todo) : planRemote(sender, todo),
    outstanding: 0,
    deferred: false,
  });
}

function planLocal(sender: string, todo: Recipient[]): Delivery[] {
  return todo.map((r) => ({ sender: expandSender(sender, r.address), domain: '', recipients: [r] }));
}

/** Groups remote recipients by domain and expanded sender: one SMTP transaction each. */
function planRemote(sender: string, todo: Recipient[]): Delivery[] {
  const groups = new Map<string, { sender: string; domain: string; recipients: Recipient[] }>();
  for (const r of todo) {
    const s = expandSender(sender, r.address);
    const domain = r.address.slice(r.address.lastIndexOf('@') + 1).toLowerCase();
    const key = `${domain}\n${s}`;
    const g = groups.get(key);
    if (g) g.recipients.push(r);
    else groups.set(key, { sender: s, domain, recipients: [r] });
  }
  return [...groups.values()];
}
