// MX ordering, implicit MX, null MX, DNS failure classes and the loops-back-to-me rule,
// against a scripted Dns (the real-DNS cases are in test/e2e/remote-dns.test.ts).

import test from 'ava';
import { dropSelf, findTargets, literalAddress, orderMx, type Dns, type Target } from '../../ts/remote/mx.js';

type Zone = Record<string, { mx?: [number, string][]; a?: string[]; aaaa?: string[]; err?: string }>;

function fakeDns(zone: Zone): Dns {
  const fail = (code: string) => Promise.reject(Object.assign(new Error(code), { code }));
  const get = <T>(name: string, pick: (z: Zone[string]) => T[] | undefined): Promise<T[]> => {
    const z = zone[name];
    if (!z) return fail('ENOTFOUND');
    if (z.err) return fail(z.err);
    const v = pick(z);
    return v ? Promise.resolve(v) : fail('ENODATA');
  };
  return {
    resolveMx: (n) => get(n, (z) => z.mx?.map(([priority, exchange]) => ({ priority, exchange }))),
    resolve4: (n) => get(n, (z) => z.a),
    resolve6: (n) => get(n, (z) => z.aaaa),
  };
}

const opts = { port: 25, isLocal: (ip: string) => ip === '192.0.2.99' };

test('orderMx sorts by preference and shuffles equal ones', (t) => {
  const recs = [{ priority: 20, exchange: 'c' }, { priority: 10, exchange: 'a' }, { priority: 10, exchange: 'b' }];
  t.deepEqual(orderMx(recs, () => 0.5).map((r) => r.exchange), ['a', 'b', 'c']);
  const seen = new Set<string>();
  let seed = 1;
  for (let i = 0; i < 50; i++) seen.add(orderMx(recs, () => ((seed = (seed * 48271) % 2147483647) / 2147483647))[0]!.exchange);
  t.deepEqual([...seen].sort(), ['a', 'b'], 'both equal-preference MX come first sometimes, never c');
});

test('MX by preference, IPv6 before IPv4 for each host', async (t) => {
  const dns = fakeDns({
    'd.test': { mx: [[20, 'mx2.d.test'], [10, 'mx1.d.test']] },
    'mx1.d.test': { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] },
    'mx2.d.test': { a: ['192.0.2.2'] },
  });
  const r = await findTargets(dns, 'd.test', { kind: 'mx' }, opts);
  t.is(r.kind, 'ok');
  if (r.kind === 'ok') t.deepEqual(r.value.map((x) => [x.ip, x.pref, x.family]), [['2001:db8::1', 10, 6], ['192.0.2.1', 10, 4], ['192.0.2.2', 20, 4]]);
});

test('no MX falls back to the domain A/AAAA records', async (t) => {
  const r = await findTargets(fakeDns({ 'a.test': { a: ['192.0.2.5'] } }), 'a.test', { kind: 'mx' }, opts);
  t.deepEqual(r.kind === 'ok' ? r.value.map((x) => x.ip) : r, ['192.0.2.5']);
});

test('failure classes: NXDOMAIN perm 5.1.2, SERVFAIL temp 4.1.2, null MX perm 5.1.10, MX without address perm 5.4.4', async (t) => {
  const dns = fakeDns({
    'sf.test': { err: 'ESERVFAIL' }, 'to.test': { err: 'ETIMEOUT' },
    'null.test': { mx: [[0, '']] }, 'noaddr.test': { mx: [[10, 'gone.test']] },
    'tempmx.test': { mx: [[10, 'sf.test']] }, 'bare.test': {},
  });
  const status = async (d: string) => {
    const r = await findTargets(dns, d, { kind: 'mx' }, opts);
    return r.kind === 'ok' ? 'ok' : `${r.kind} ${r.status}`;
  };
  t.is(await status('missing.test'), 'perm 5.1.2');
  t.is(await status('sf.test'), 'temp 4.1.2');
  t.is(await status('to.test'), 'temp 4.1.2');
  t.is(await status('null.test'), 'perm 5.1.10');
  t.is(await status('noaddr.test'), 'perm 5.4.4');
  t.is(await status('tempmx.test'), 'temp 4.4.3');
  t.is(await status('bare.test'), 'perm 5.1.2', 'exists but has neither MX nor address');
});

test('a local MX drops equal-or-worse preferences; nothing left is perm 5.4.6', async (t) => {
  const dns = fakeDns({
    'mixed.test': { mx: [[5, 'better.test'], [10, 'me.test'], [10, 'peer.test'], [20, 'worse.test']] },
    'me.test': { a: ['192.0.2.99'] }, 'better.test': { a: ['192.0.2.7'] },
    'peer.test': { a: ['192.0.2.8'] }, 'worse.test': { a: ['192.0.2.9'] },
    'loop.test': { mx: [[10, 'me.test'], [20, 'worse.test']] },
  });
  const r = await findTargets(dns, 'mixed.test', { kind: 'mx' }, opts);
  t.deepEqual(r.kind === 'ok' ? r.value.map((x) => x.ip) : r, ['192.0.2.7']);
  const loop = await findTargets(dns, 'loop.test', { kind: 'mx' }, opts);
  t.is(loop.kind, 'perm');
  if (loop.kind === 'perm') {
    t.is(loop.status, '5.4.6');
    t.regex(loop.text, /loops back to myself/);
  }
});

test('dropSelf keeps everything when no address is local', (t) => {
  const ts: Target[] = [{ ip: '192.0.2.1', family: 4, pref: 10, host: 'a', port: 25 }];
  t.deepEqual(dropSelf(ts, () => false), ts);
});

test('smtproutes relay: its own addresses and port, no self check; unresolvable relay is temporary', async (t) => {
  const dns = fakeDns({ 'relay.test': { a: ['192.0.2.99'] } });
  const r = await findTargets(dns, 'x.test', { kind: 'relay', relay: 'relay.test', port: 2525 }, opts);
  t.deepEqual(r.kind === 'ok' ? r.value.map((x) => [x.ip, x.port]) : r, [['192.0.2.99', 2525]]);
  const lit = await findTargets(dns, 'x.test', { kind: 'relay', relay: '127.0.0.1', port: 26 }, opts);
  t.deepEqual(lit.kind === 'ok' ? lit.value.map((x) => x.ip) : lit, ['127.0.0.1']);
  for (const relay of ['[192.0.2.4]', '[IPv6:2001:db8::4]', '2001:db8::4']) {
    const br = await findTargets(dns, 'x.test', { kind: 'relay', relay, port: 25 }, opts);
    t.is(br.kind === 'ok' ? br.value[0]!.ip : br.kind, relay.includes('192') ? '192.0.2.4' : '2001:db8::4', relay);
  }
  const bad = await findTargets(dns, 'x.test', { kind: 'relay', relay: 'nowhere.test', port: 25 }, opts);
  t.is(bad.kind === 'temp' ? bad.status : bad.kind, '4.4.3');
});

test('address literals are used directly', async (t) => {
  t.is(literalAddress('[192.0.2.1]'), '192.0.2.1');
  t.is(literalAddress('[IPv6:2001:db8::2]'), '2001:db8::2');
  t.is(literalAddress('192.0.2.3'), '192.0.2.3');
  t.is(literalAddress('example.com'), undefined);
  const r = await findTargets(fakeDns({}), '[192.0.2.99]', { kind: 'mx' }, opts);
  t.is(r.kind === 'perm' ? r.status : r.kind, '5.4.6', 'a literal of myself loops');
});
