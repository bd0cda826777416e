// The custom local delivery target (ts/local/store.ts): result checking, dispatch between
// the store and qmail-local, the time limit, the stream, and qmail's retry schedule for
// the store's deferrals (the scheduler with a manual clock).

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { silentLog } from '../../ts/log/index.js';
import { checkStore, storeClaims, toOutcome, withStore, type LocalStore, type StoreDelivery } from '../../ts/local/store.js';
import { ok } from '../../ts/outcome.js';
import { Scheduler } from '../../ts/send/scheduler.js';
import type { LocalDelivery, LocalRequest } from '../../ts/send/types.js';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { FakeQueue, ManualClock, splitRouter } from './send-fakes.js';

const T0 = Date.UTC(2026, 0, 1);

const BYTES = 'Received: by test\nSubject: s\n\nhello\n';

function body(t: Parameters<typeof tempDir>[0], bytes = BYTES): string {
  const path = join(tempDir(t), 'body');
  writeFileSync(path, bytes);
  return path;
}

const dotQmail = (): LocalDelivery & { calls: string[] } => {
  const calls: string[] = [];
  return { calls, async deliver(r) { calls.push(r.recipient); return ok('did 1+0+0'); } };
};

const req = (bodyPath: string, recipient = 'app-joe@app.test'): LocalRequest => ({ id: '42', bodyPath, sender: 'a@far.test', recipient });

test('results: nothing or a report is delivered; refuse bounces, defer retries, with their codes', (t) => {
  t.deepEqual(toOutcome(undefined), ok('stored by the application'));
  t.deepEqual(toOutcome('row 17'), ok('row 17'));
  t.deepEqual(toOutcome({ action: 'refuse' }), { kind: 'perm', status: '5.0.0', text: 'Refused by the application.' });
  t.deepEqual(toOutcome({ action: 'refuse', status: '5.2.2', text: 'Over quota.' }), { kind: 'perm', status: '5.2.2', text: 'Over quota.' });
  t.deepEqual(toOutcome({ action: 'defer', status: '4.2.1', text: 'Busy.' }), { kind: 'temp', status: '4.2.1', text: 'Busy.' });
});

test('malformed results are temporary 4.3.0, never a bounce', (t) => {
  const bad: unknown[] = [
    { action: 'refuse', status: '4.2.1' }, { action: 'defer', status: '5.1.1' }, { action: 'refuse', status: '2.0.0' },
    { action: 'refuse', status: '5.1' }, { action: 'defer', text: 'two\r\nlines' }, { action: 'refuse', text: 'x'.repeat(401) },
    { action: 'accept' }, { status: '5.1.1' }, 'a\nb', 42, null, { action: 'refuse', text: 7 },
  ];
  for (const r of bad) {
    const o = toOutcome(r as never);
    t.is(o.kind, 'temp', JSON.stringify(r));
    if (o.kind === 'temp') {
      t.is(o.status, '4.3.0');
      t.regex(o.text, /^the store returned a malformed result/);
    }
  }
});

test('checkStore refuses a store that cannot work', (t) => {
  t.throws(() => checkStore({} as LocalStore), { instanceOf: TypeError, message: /store\.deliver must be a function/ });
  t.throws(() => checkStore({ deliver: () => undefined, timeoutMs: 0 }), { message: /timeoutMs/ });
  t.throws(() => checkStore({ deliver: () => undefined, recipients: true as never }), { message: /recipients/ });
  t.notThrows(() => checkStore({ deliver: () => undefined, timeoutMs: 1000 }));
});

test('claimed recipients go to the store with the envelope and the stream; the others to qmail-local', async (t) => {
  const path = body(t);
  const got: (Omit<StoreDelivery, 'message' | 'signal'> & { bytes: string })[] = [];
  const store: LocalStore = {
    recipients: (a) => a.endsWith('@app.test'),
    async deliver(d) { got.push({ id: d.id, sender: d.sender, recipient: d.recipient, size: d.size, bytes: await text(d.message) }); },
  };
  const local = dotQmail();
  // The router's original(): the virtualdomains prefix "app-" is taken off for the store.
  const delivery = withStore(local, store, (a) => a.replace(/^app-/, ''));
  t.deepEqual(await delivery.deliver(req(path)), ok('stored by the application'));
  t.deepEqual(await delivery.deliver(req(path, 'postmaster@here.test')), ok('did 1+0+0'));
  t.deepEqual(got, [{ id: '42', sender: 'a@far.test', recipient: 'joe@app.test', size: Buffer.byteLength(BYTES), bytes: BYTES }]);
  t.deepEqual(local.calls, ['postmaster@here.test']);
  t.deepEqual(storeClaims(store, 'x@app.test'), ok(true));
  t.deepEqual(storeClaims(store, 'x@other.test'), ok(false));
  t.deepEqual(storeClaims(undefined, 'x@app.test'), ok(false));
});

test('a throwing recipients() or deliver() defers with 4.3.0', async (t) => {
  const path = body(t);
  const broken = withStore(dotQmail(), { recipients: () => { throw new Error('db down'); }, deliver: () => undefined }, (a) => a);
  t.like(await broken.deliver(req(path)), { kind: 'temp', status: '4.3.0', text: 'store.recipients failed: db down' });
  t.like(storeClaims({ recipients: () => { throw new Error('db down'); }, deliver: () => undefined }, 'a@b'), { kind: 'temp', status: '4.3.0' });
  const throwing = withStore(dotQmail(), { deliver: () => { throw new Error('disk\nfull'); } }, (a) => a);
  t.like(await throwing.deliver(req(path)), { kind: 'temp', status: '4.3.0', text: 'store failed: disk full' });
  const rejecting = withStore(dotQmail(), { deliver: async () => Promise.reject(new Error('nope')) }, (a) => a);
  t.like(await rejecting.deliver(req(path)), { kind: 'temp', status: '4.3.0', text: 'store failed: nope' });
});

test('a store that never settles is deferred at its time limit; its signal is aborted and its stream closed', async (t) => {
  const path = body(t);
  let seen: StoreDelivery | undefined;
  const store: LocalStore = { timeoutMs: 200, deliver: (d) => { seen = d; return new Promise(() => {}); } };
  const started = Date.now();
  const o = await withStore(dotQmail(), store, (a) => a).deliver(req(path));
  t.like(o, { kind: 'temp', status: '4.3.0', text: 'the store gave no answer within 200 ms; will retry' });
  t.true(Date.now() - started >= 190);
  t.true(seen!.signal.aborted);
  t.true(seen!.message.destroyed);
});

test('close() (the engine stopping) ends a call in flight with a deferral and aborts its signal', async (t) => {
  const path = body(t);
  let seen: StoreDelivery | undefined;
  const delivery = withStore(dotQmail(), { deliver: (d) => { seen = d; return new Promise(() => {}); } }, (a) => a);
  const pending = delivery.deliver(req(path));
  await until('the call', () => seen !== undefined);
  await delivery.close();
  t.like(await pending, { kind: 'temp', status: '4.3.0', text: 'qmta stopped during the delivery; will retry' });
  t.true(seen!.signal.aborted);
});

test("the store's deferrals follow qmail's local schedule: attempts at ages 0, 100, 400 s", async (t) => {
  const clock = new ManualClock(T0);
  const path = body(t);
  const queue = new (class extends FakeQueue { override bodyPath(): string { return path; } })(clock);
  const attempts: number[] = [];
  const store: LocalStore = {
    async deliver(d) {
      attempts.push((clock.now() - T0) / 1000);
      t.is(await text(d.message), BYTES);
      return attempts.length < 3 ? { action: 'defer', status: '4.2.1', text: 'Busy.' } : 'stored';
    },
  };
  const events: string[] = [];
  const local = withStore(dotQmail(), store, (a) => a);
  const sched = new Scheduler({
    queue, router: splitRouter, log: silentLog, clock,
    local,
    bounce: { async send() { throw new Error('no bounce expected'); } },
    listener: { delivered: (e) => events.push(`delivered ${e.report}`), deferred: (e) => events.push(`deferred ${e.report}`) },
  });
  await sched.start();
  await queue.add({ sender: 'a@x', recipients: ['joe@here'] }, new Uint8Array());
  sched.enqueued('1');
  // The store reads a real file: each step waits (real time) for the attempt's result
  // before the clock moves on; a second earlier, nothing is tried.
  await until('attempt 1', () => events.length === 1, 10_000, 5);
  for (const [k, age] of [100, 400].entries()) {
    await clock.advanceTo(T0 + (age - 1) * 1000);
    t.is(attempts.length, k + 1);
    await clock.advanceTo(T0 + age * 1000);
    await until(`attempt ${k + 2}`, () => events.length === k + 2, 10_000, 5);
  }
  t.deepEqual(attempts, [0, 100, 400]);
  t.deepEqual(events, ['deferred Busy. (#4.2.1)', 'deferred Busy. (#4.2.1)', 'delivered stored']);
  await sched.stop(100);
});
