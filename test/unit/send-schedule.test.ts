// The scheduler's retry schedule, queuelifetime and bounce hand-off, with an injected clock.

import test from 'ava';
import { ok, type Outcome } from '../../ts/outcome.js';
import { silentLog } from '../../ts/log/index.js';
import { nextRetry, isDying, DYING_LINE } from '../../ts/send/retry.js';
import { CLEANUP_MS, Scheduler } from '../../ts/send/scheduler.js';
import type { BounceRequest, LocalRequest } from '../../ts/send/types.js';
import { FakeQueue, ManualClock, splitRouter, always, settle } from './send-fakes.js';

const T0 = Date.UTC(2026, 0, 1);

test('nextRetry follows qmail: k-th attempt at age (skip*(k-1))^2', (t) => {
  const ages = (ch: 'local' | 'remote', n: number) => {
    const out = [0];
    let now = T0;
    for (let i = 1; i < n; i++) { now = nextRetry(T0, now, ch); out.push((now - T0) / 1000); }
    return out;
  };
  t.deepEqual(ages('local', 6), [0, 100, 400, 900, 1600, 2500]);
  t.deepEqual(ages('remote', 5), [0, 400, 1600, 3600, 6400]);
  // A pass that starts off the grid (the machine was down) continues from its own age, as qmail: (31+10)^2.
  t.is((nextRetry(T0, T0 + 1000_000, 'local') - T0) / 1000, 1681);
  // The last local attempt inside 7 days is #78 at 592900 s, the final one #79 at 608400 s.
  t.is((nextRetry(T0, T0 + 592_900_000, 'local') - T0) / 1000, 608_400);
  t.false(isDying(T0, T0 + 604_800_000, 604_800));
  t.true(isDying(T0, T0 + 604_801_000, 604_800));
});

function setup(opts: { local: (r: LocalRequest, n: number) => Outcome<string>; lifetime?: number }) {
  const clock = new ManualClock(T0);
  const queue = new FakeQueue(clock);
  const attempts: { recipient: string; at: number }[] = [];
  const bounces: BounceRequest[] = [];
  const events: string[] = [];
  const sched = new Scheduler({
    queue, router: splitRouter, log: silentLog, clock,
    settings: { concurrencyLocal: 10, concurrencyRemote: 20, queueLifetime: opts.lifetime ?? 604800 },
    local: { async deliver(r) { attempts.push({ recipient: r.recipient, at: clock.now() }); return opts.local(r, attempts.length); } },
    bounce: { async send(b) { bounces.push(b); return ok({ queued: 'bounce-1' }); } },
    listener: {
      delivered: (e) => events.push(`delivered ${e.recipient}`),
      deferred: (e) => events.push(`deferred ${e.recipient}`),
      failed: (e) => events.push(`failed ${e.recipient}`),
      done: (e) => events.push(`done ${e.id}`),
    },
  });
  return { clock, queue, attempts, bounces, events, sched };
}

test('a deferred local delivery is retried at ages 0, 100, 400, 900 s', async (t) => {
  const s = setup({ local: (_r, n) => (n < 4 ? always.temp() : always.ok()) });
  await s.sched.start();
  const id = (await s.queue.add({ sender: 'a@x', recipients: ['joe@here'] }, new Uint8Array())).kind;
  t.is(id, 'ok');
  s.sched.enqueued('1');
  await settle();
  await s.clock.advanceTo(T0 + 2000_000);
  t.deepEqual(s.attempts.map((a) => (a.at - T0) / 1000), [0, 100, 400, 900]);
  t.deepEqual(s.events, ['deferred joe@here', 'deferred joe@here', 'deferred joe@here', 'delivered joe@here', 'done 1']);
  t.deepEqual(s.queue.removed, ['1']);
  t.is(s.bounces.length, 0);
  await s.sched.stop(100);
});

test('queuelifetime: one more attempt after expiry, its deferral becomes a failure with qmail\'s line', async (t) => {
  const s = setup({ local: () => always.temp(), lifetime: 1000 });
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients: ['joe@here'] }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
  await s.clock.advanceTo(T0 + 5000_000);
  // Attempts at 0, 100, 400, 900 (alive) and 1600 (dying, the last one).
  t.deepEqual(s.attempts.map((a) => (a.at - T0) / 1000), [0, 100, 400, 900, 1600]);
  t.is(s.bounces.length, 1);
  const b = s.bounces[0]!;
  t.is(b.sender, 'a@x');
  t.is(b.paragraphs, `<joe@here>:\nmailbox busy (#4.2.1)\n${DYING_LINE}\n\n`);
  t.deepEqual(s.queue.removed, ['1']);
  await s.sched.stop(100);
});

test('a permanent failure is bounced once all recipients are finished, with every failure paragraph', async (t) => {
  const s = setup({ local: (r) => (r.recipient.startsWith('ok') ? always.ok() : always.perm()) });
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients: ['nobody@here', 'ok@here', 'ghost@here'] }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
  t.is(s.bounces.length, 1);
  t.is(s.bounces[0]!.paragraphs,
    '<nobody@here>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n' +
    '<ghost@here>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n');
  t.deepEqual(s.queue.removed, ['1']);
  await s.sched.stop(100);
});

test('remote recipients without a remote delivery stay queued and are retried, never dropped', async (t) => {
  const s = setup({ local: () => always.ok() });
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients: ['joe@here', 'bob@far.example'] }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
  await s.clock.advanceTo(T0 + 3700_000);
  const e = s.queue.entries.get('1');
  t.truthy(e, 'message still queued');
  t.deepEqual(e!.local.map((r) => r.done), [true]);
  t.deepEqual(e!.remote.map((r) => r.done), [false]);
  // Remote retry grid: 400, 1600, 3600 s after birth.
  t.is((e!.next.remote! - T0) / 1000, 6400);
  t.is(s.bounces.length, 0);
  await s.sched.stop(100);
});

test('runQueue (SIGALRM) makes every deferred job due now', async (t) => {
  const s = setup({ local: (_r, n) => (n === 1 ? always.temp() : always.ok()) });
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients: ['joe@here'] }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
  await s.clock.advanceTo(T0 + 10_000);
  t.is(s.attempts.length, 1);
  s.sched.runQueue();
  await settle();
  t.is(s.attempts.length, 2);
  t.deepEqual(s.queue.removed, ['1']);
  await s.sched.stop(100);
});

test('start-up resumes persisted retry times and delivers due messages', async (t) => {
  const s = setup({ local: () => always.ok() });
  const due = s.queue.addQueued('a@x', ['due@here'], [], T0 - 500_000, T0 - 1);
  const later = s.queue.addQueued('a@x', ['later@here'], [], T0 - 500_000, T0 + 60_000);
  await s.sched.start();
  await settle();
  t.deepEqual(s.attempts.map((a) => a.recipient), ['due@here']);
  await s.clock.advanceTo(T0 + 60_000);
  t.deepEqual(s.attempts.map((a) => a.recipient), ['due@here', 'later@here']);
  t.deepEqual(s.queue.removed.sort(), [due, later].sort());
  await s.sched.stop(100);
});

test('a second notification of the same commit does not deliver twice', async (t) => {
  const s = setup({ local: () => always.temp() });
  await s.sched.start();
  await s.queue.add({ sender: 'a@x', recipients: ['joe@here'] }, new Uint8Array());
  s.sched.enqueued('1');
  await settle();
  s.sched.enqueued('1');
  await settle();
  t.is(s.attempts.length, 1);
  t.is(s.sched.snapshot().deferred, 1);
  await s.sched.stop(100);
});

test('the queue garbage is collected every 21 hours while running (qmail-send cleanup), and logged', async (t) => {
  const lines: string[] = [];
  const clock = new ManualClock(T0);
  const queue = new FakeQueue(clock);
  queue.garbage = ['mess/3/4294967296'];
  const log = { info() {}, warn(_o: object, msg?: string) { lines.push(msg ?? ''); }, error() {} };
  const sched = new Scheduler({ queue, router: splitRouter, log, clock, local: { async deliver() { return always.ok(); } },
    bounce: { async send() { return ok({ queued: 'b' }); } } });
  await sched.start();
  await clock.advanceTo(T0 + CLEANUP_MS - 1000);
  t.deepEqual(queue.cleanups, []);
  await clock.advanceTo(T0 + 2 * CLEANUP_MS + 1000);
  t.deepEqual(queue.cleanups, [T0 + CLEANUP_MS, T0 + 2 * CLEANUP_MS]);
  t.true(lines.some((l) => l.includes('removed stale queue file mess/3/4294967296')));
  await sched.stop(0);
  await clock.advanceTo(T0 + 4 * CLEANUP_MS);
  t.is(queue.cleanups.length, 2, 'a stopped scheduler cleans no more');
});
