// Concurrency limits (reloadable, 0 holds) and fairness: new mail keeps flowing while a
// large deferred queue is due (no "silly qmail syndrome").

import test from 'ava';
import { ok, type Outcome } from '../../ts/outcome.js';
import { silentLog } from '../../ts/log/index.js';
import { Scheduler } from '../../ts/send/scheduler.js';
import type { SendSettings } from '../../ts/send/types.js';
import { FakeQueue, ManualClock, splitRouter, always, settle } from './send-fakes.js';

const T0 = Date.UTC(2026, 0, 1);

function gated(settings: SendSettings) {
  const clock = new ManualClock(T0);
  const queue = new FakeQueue(clock);
  const gates: (() => void)[] = [];
  let inFlight = 0;
  let peak = 0;
  const sched = new Scheduler({
    queue, router: splitRouter, log: silentLog, clock, settings,
    local: {
      deliver: () => new Promise<Outcome<string>>((resolve) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        gates.push(() => { inFlight--; resolve(always.ok()); });
      }),
    },
    bounce: { async send() { return ok({ queued: 'b' }); } },
  });
  return { clock, queue, sched, gates, stats: () => ({ inFlight, peak }) };
}

test('concurrencylocal bounds deliveries in flight; a reload raises it; 0 holds', async (t) => {
  const g = gated({ concurrencyLocal: 3, concurrencyRemote: 20, queueLifetime: 604800 });
  await g.sched.start();
  for (let i = 0; i < 20; i++) {
    await g.queue.add({ sender: 'a@x', recipients: [`u${i}@here`] }, new Uint8Array());
    g.sched.enqueued(String(i + 1));
  }
  await settle();
  t.is(g.stats().inFlight, 3);
  g.sched.setSettings({ concurrencyLocal: 5, concurrencyRemote: 20, queueLifetime: 604800 });
  await settle();
  t.is(g.stats().inFlight, 5);
  g.sched.setSettings({ concurrencyLocal: 0, concurrencyRemote: 20, queueLifetime: 604800 });
  for (const open of g.gates.splice(0)) open();
  await settle();
  t.is(g.stats().inFlight, 0, 'held at 0');
  g.sched.setSettings({ concurrencyLocal: 4, concurrencyRemote: 20, queueLifetime: 604800 });
  await settle();
  t.is(g.stats().inFlight, 4);
  while (g.gates.length > 0) { for (const open of g.gates.splice(0)) open(); await settle(); }
  t.is(g.stats().peak, 5);
  t.is(g.queue.entries.size, 0, 'every message delivered and removed');
  await g.sched.stop(100);
});

test('new mail is delivered promptly while 100,000 deferred messages are due', async (t) => {
  const clock = new ManualClock(T0);
  const queue = new FakeQueue(clock);
  const OLD = 100_000;
  for (let i = 0; i < OLD; i++) queue.addQueued('a@x', [`old${i % 50}@here`], [], T0 - 3600_000, T0 - 1);
  const order: string[] = [];
  const heapBefore = process.memoryUsage().heapUsed;
  const sched = new Scheduler({
    queue, router: splitRouter, log: silentLog, clock,
    settings: { concurrencyLocal: 10, concurrencyRemote: 20, queueLifetime: 604800 },
    local: {
      async deliver(r) {
        await new Promise<void>((res) => setImmediate(res));
        order.push(r.recipient);
        return r.recipient.startsWith('new') ? always.ok() : always.temp();
      },
    },
    bounce: { async send() { return ok({ queued: 'b' }); } },
  });
  const started = Date.now();
  await sched.start();
  const scanMs = Date.now() - started;
  const NEW = 50;
  for (let i = 0; i < NEW; i++) {
    await queue.add({ sender: 'b@x', recipients: [`new${i}@here`] }, new Uint8Array());
    sched.enqueued(String(OLD + i + 1));
  }
  const deadline = Date.now() + 20_000;
  while (order.filter((r) => r.startsWith('new')).length < NEW && Date.now() < deadline) await settle();
  const lastNew = order.reduce((last, r, i) => (r.startsWith('new') ? i : last), -1);
  const heapAfter = process.memoryUsage().heapUsed;
  t.log(`scan of ${OLD} queued messages: ${scanMs} ms; all ${NEW} new delivered within ${lastNew + 1} deliveries;` +
    ` heap growth ${((heapAfter - heapBefore) / OLD).toFixed(0)} bytes per queued message (fake queue included)`);
  t.is(order.filter((r) => r.startsWith('new')).length, NEW);
  // Alternating openings: each new message waits for at most one old job per slot turn.
  t.true(lastNew < 3 * NEW + 20, `new mail waited behind ${lastNew + 1 - NEW} old deliveries`);
  await sched.stop(1000);
});

test('due jobs waiting for a busy slot arm no timer (no busy loop)', async (t) => {
  const g = gated({ concurrencyLocal: 1, concurrencyRemote: 20, queueLifetime: 604800 });
  for (let i = 0; i < 1000; i++) g.queue.addQueued('a@x', [`u${i}@here`], [], T0 - 10_000, T0 - 1);
  let armed = 0;
  const setTimeoutOrig = g.clock.setTimeout.bind(g.clock);
  // Timers due now fire on the next turn of the event loop, as real ones do.
  g.clock.setTimeout = (fn, ms) => {
    armed++;
    if (ms > 0) return setTimeoutOrig(fn, ms);
    setImmediate(fn);
    return undefined;
  };
  await g.sched.start();
  await settle();
  const before = armed;
  for (let i = 0; i < 50; i++) await settle();
  t.is(g.stats().inFlight, 1);
  t.true(armed - before <= 1, `${armed - before} timers armed while waiting for the slot`);
  while (g.gates.length > 0) { for (const open of g.gates.splice(0)) open(); await settle(); }
  t.is(g.queue.entries.size, 0);
  await g.sched.stop(100);
});
