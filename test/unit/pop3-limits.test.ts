import test from 'ava';
import { ConnectionCounter, FailureTracker } from '../../ts/pop3d/limits.js';
import { parseListen } from '../../ts/pop3d/settings.js';

test('failures block an address within the window only', (t) => {
  let now = 1_000_000;
  const f = new FailureTracker(3, 60_000, () => now);
  f.record('10.0.0.1');
  f.record('10.0.0.1');
  t.false(f.blocked('10.0.0.1'));
  f.record('10.0.0.1');
  t.true(f.blocked('10.0.0.1'));
  t.false(f.blocked('10.0.0.2'));
  now += 60_001;
  t.false(f.blocked('10.0.0.1'));
});

test('the failure table forgets the oldest address past its bound', (t) => {
  const f = new FailureTracker(1, 60_000);
  f.record('first');
  for (let i = 0; i < 10_000; i++) f.record(`a${i}`);
  t.false(f.blocked('first'));
  t.true(f.blocked('a9999'));
});

test('connection limits: total and per address', (t) => {
  const c = new ConnectionCounter(3, 2);
  t.is(c.enter('a'), 'ok');
  t.is(c.enter('a'), 'ok');
  t.is(c.enter('a'), 'ip');
  t.is(c.enter('b'), 'ok');
  t.is(c.enter('c'), 'total');
  c.leave('a');
  t.is(c.enter('c'), 'ok');
});

test('listen addresses: IPv4, bracketed IPv6, bad ones refused', (t) => {
  t.deepEqual(parseListen('127.0.0.1:2110'), { host: '127.0.0.1', port: 2110 });
  t.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  t.throws(() => parseListen('127.0.0.1'));
  t.throws(() => parseListen('::1:110'));
  t.throws(() => parseListen('host:70000'));
});
