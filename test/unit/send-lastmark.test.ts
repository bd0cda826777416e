// The last delivery of a message skips its done-mark write when nothing else remains: the
// removal is the mark (ts/send/results.ts finishUnmarked, Completer.completeUnmarked). When
// something remains (another channel, a bounce to send), the mark is written after all.

import test from 'ava';
import { ok, type Outcome } from '../../ts/outcome.js';
import { silentLog } from '../../ts/log/index.js';
import type { Channel, MessageId } from '../../ts/queue/types.js';
import { Scheduler } from '../../ts/send/scheduler.js';
import type { BounceRequest, LocalRequest } from '../../ts/send/types.js';
import { FakeQueue, ManualClock, splitRouter, always, settle } from './send-fakes.js';

const T0 = Date.UTC(2026, 0, 1);

/** Counts done-mark writes. */
class MarkCountingQueue extends FakeQueue {
  marks: string[] = [];
  override async markDone(id: MessageId, channel: Channel, index: number): Promise<Outcome<void>> {
    this.marks.push(`${id} ${channel} ${index}`);
    return super.markDone(id, channel, index);
  }
}

function setup(local: (r: LocalRequest) => Outcome<string>, concurrencyLocal = 10) {
  const clock = new ManualClock(T0);
  const queue = new MarkCountingQueue(clock);
  const bounces: BounceRequest[] = [];
  const events: string[] = [];
  const sched = new Scheduler({
    queue, router: splitRouter, log: silentLog, clock,
    settings: { concurrencyLocal, concurrencyRemote: 20, queueLifetime: 604800 },
    local: { async deliver(r) { return local(r); } },
    bounce: { async send(b) { bounces.push(b); return ok({ queued: 'bounce-1' }); } },
    listener: { delivered: (e) => events.push(`delivered ${e.recipient}`), done: (e) => events.push(`done ${e.id}`) },
  });
  return { queue, bounces, events, sched };
}

async function send(s: ReturnType<typeof setup>, recipients: string[]): Promise<void> {
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
}

test('a one-recipient message is delivered and removed without a done-mark write', async (t) => {
  const s = setup(always.ok);
  await send(s, ['joe@here']);
  t.deepEqual(s.events, ['delivered joe@here', 'done 1']);
  t.deepEqual(s.queue.removed, ['1']);
  t.deepEqual(s.queue.marks, []);
});

test('of several recipients delivered one after the other, only the last one skips its mark', async (t) => {
  // (Deliveries still running when the last one ends keep every mark: the skip is only
  // taken by a job's sole outstanding delivery.)
  const s = setup(always.ok, 1);
  await send(s, ['a@here', 'b@here', 'c@here']);
  t.deepEqual(s.queue.removed, ['1']);
  t.is(s.queue.marks.length, 2);
  t.is(s.events.filter((e) => e.startsWith('delivered')).length, 3);
});

test('recipients left on another channel: the last local recipient is marked after all and the message stays', async (t) => {
  const s = setup(always.ok);
  await send(s, ['joe@here', 'ann@far.example']);
  t.deepEqual(s.queue.removed, []);
  t.deepEqual(s.queue.marks, ['1 local 0']);
  t.true(s.queue.entries.get('1')!.local[0]!.done);
  t.false(s.queue.entries.get('1')!.remote[0]!.done);
});

test('a bounce to send: the last mark is written, then the bounce is queued and the message removed', async (t) => {
  // One at a time: bad@here fails first (its bounce paragraph is written), good@here is the
  // job's last delivery and finds the bounce.
  const s = setup((r) => (r.recipient === 'bad@here' ? always.perm() : always.ok()), 1);
  await send(s, ['bad@here', 'good@here']);
  t.is(s.bounces.length, 1);
  t.deepEqual(s.queue.removed, ['1']);
  t.is(s.queue.marks.length, 2);
});
