// Downed-host memory (qmail's tcpto rules), the TLS plaintext memory and the limiter.

import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Limiter } from '../../ts/remote/limiter.js';
import { PlaintextHosts } from '../../ts/remote/plaintext-memory.js';
import { DownedHosts, MAX_HOSTS } from '../../ts/remote/tcpto.js';
import { tempDir } from '../helpers/home.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('a host is down after two timeouts at least 120 s apart, for skipSeconds', (t) => {
  const c = clock();
  const d = new DownedHosts({ now: c.now, skipSeconds: 3600 });
  d.timedOut('192.0.2.1');
  t.false(d.isDown('192.0.2.1'));
  c.t += 60_000;
  d.timedOut('192.0.2.1');
  t.false(d.isDown('192.0.2.1'), 'a second timeout within 120 s counts once');
  c.t += 61_000;
  d.timedOut('192.0.2.1');
  t.true(d.isDown('192.0.2.1'));
  t.deepEqual(d.list(), [{ ip: '192.0.2.1', count: 2, secondsAgo: 0 }]);
  c.t += 3_600_000;
  t.false(d.isDown('192.0.2.1'), 'tried again after the skip period');
});

test('a completed or refused connect resets the count; clear forgets all', (t) => {
  const c = clock();
  const d = new DownedHosts({ now: c.now, skipSeconds: 3600 });
  d.timedOut('a'); c.t += 200_000; d.timedOut('a');
  t.true(d.isDown('a'));
  d.reached('a');
  t.false(d.isDown('a'));
  d.timedOut('b'); c.t += 200_000; d.timedOut('b');
  d.clear();
  t.deepEqual(d.list(), []);
});

test('memory is bounded and survives a restart through its file; junk files are ignored', (t) => {
  const path = join(tempDir(t), 'tcpto');
  const c = clock();
  const d = new DownedHosts({ now: c.now, skipSeconds: 3600, path });
  for (let i = 0; i <= MAX_HOSTS; i++) d.timedOut(`10.0.${i >> 8}.${i & 255}`);
  t.is(d.list().length, MAX_HOSTS);
  d.timedOut('x'); c.t += 200_000; d.timedOut('x');
  const again = new DownedHosts({ now: c.now, skipSeconds: 3600, path });
  t.true(again.isDown('x'));
  t.true(JSON.parse(readFileSync(path, 'utf8')).length <= MAX_HOSTS);
  writeFileSync(path, '{not json');
  t.deepEqual(new DownedHosts({ now: c.now, skipSeconds: 3600, path }).list(), []);
  writeFileSync(path, JSON.stringify([['ok', 2, c.t], ['bad', 'x', 1], 7]));
  t.deepEqual(new DownedHosts({ now: c.now, skipSeconds: 3600, path }).list().map((e) => e.ip), ['ok']);
});

test('plaintext memory expires', (t) => {
  const c = clock();
  const p = new PlaintextHosts({ now: c.now, ttlSeconds: 10 });
  t.false(p.isPlaintext('192.0.2.1'));
  p.remember('192.0.2.1');
  t.true(p.isPlaintext('192.0.2.1'));
  c.t += 10_001;
  t.false(p.isPlaintext('192.0.2.1'));
});

test('limiter: total and per-domain limits; a blocked domain does not hold up others', async (t) => {
  const l = new Limiter(3, 2);
  const order: string[] = [];
  const take = (d: string) => l.acquire(d).then((rel) => { order.push(d); return rel; });
  const a1 = await take('a');
  const a2 = await take('a');
  const a3 = take('a');
  const b1 = await take('b');
  t.is(l.active, 3);
  t.deepEqual(order, ['a', 'a', 'b'], 'b started although an a waits before it');
  const c1 = take('c');
  b1();
  await c1;
  t.deepEqual(order, ['a', 'a', 'b', 'c'], 'the a waiter is still over its domain limit');
  a1();
  a1();
  await a3;
  t.is(l.active, 3, 'release is idempotent');
  a2();
  t.is(l.active, 2);
});

test('limiter with 0 total holds everything until the limits change', async (t) => {
  const l = new Limiter(0, 5);
  let started = false;
  const p = l.acquire('a').then((r) => { started = true; return r; });
  await new Promise((r) => setTimeout(r, 10));
  t.false(started);
  l.setLimits(1, 1);
  (await p)();
  t.true(started);
});
