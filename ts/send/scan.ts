// Start-up scan of the preprocessed queue (qmail-send rebuilding its priority queues from
// info/ and the channel files' times, qmail.md §2.5).
//
// Interface: scanQueue(queue, inIntake, schedule, now) schedules every (message, channel)
// at its persisted next-attempt time (or now when none was persisted).
// Guarantees: works in chunks of CHUNK ids and yields to the event loop between them, so
// new mail is accepted and delivered while a large queue is being scanned; O(1) work and
// no object kept per message beyond its DueHeap entries.

import type { Channel, MessageId, Queue } from '../queue/types.js';

const CHUNK = 500;

/** Schedules every preprocessed message found in the queue. */
export async function scanQueue(
  queue: Queue,
  inIntake: (id: MessageId) => boolean,
  schedule: (id: MessageId, ch: Channel, at: number) => void,
  now: number,
): Promise<void> {
  const ids = queue.listQueued();
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const id of ids.slice(i, i + CHUNK)) {
      if (!inIntake(id)) scheduleOne(queue, id, schedule, now);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function scheduleOne(queue: Queue, id: MessageId, schedule: (id: MessageId, ch: Channel, at: number) => void, now: number): void {
  const local = queue.nextAttempt(id, 'local');
  const remote = queue.nextAttempt(id, 'remote');
  // No persisted time at all (a crash right after preprocessing): try both channels now;
  // a channel without recipients opens as an empty job and leads to completion.
  if (local === undefined && remote === undefined) {
    schedule(id, 'local', now);
    schedule(id, 'remote', now);
    return;
  }
  if (local !== undefined) schedule(id, 'local', local);
  if (remote !== undefined) schedule(id, 'remote', remote);
}
