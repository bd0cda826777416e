// smtproutes lookup order, tlsrequired and remoteauth matching (the line syntax is
// ts/config's, tested there).

import test from 'ava';
import { authFor, findRoute, tlsRequiredFor } from '../../ts/remote/routes.js';
import { lookupKeys } from '../../ts/remote/settings.js';

test('lookup keys follow qmail: a.b.c, .b.c, .c, empty', (t) => {
  t.deepEqual(lookupKeys('A.b.C'), ['a.b.c', '.b.c', '.c', '']);
  t.deepEqual(lookupKeys('localhost'), ['localhost', '']);
});

test('first hit wins in key order; empty relay means MX; suffix keys skip the bare domain', (t) => {
  const entries = [
    { key: '.af.mil', relay: 'dot-relay', port: 25 }, { key: 'x.af.mil', relay: 'exact', port: 2525 },
    { key: 'mx.example', relay: '', port: 25 }, { key: '', relay: 'default', port: 25 }, { key: 'x.af.mil', relay: 'later', port: 25 },
  ];
  t.deepEqual(findRoute(entries, 'x.af.mil'), { kind: 'relay', relay: 'exact', port: 2525 });
  t.deepEqual(findRoute(entries, 'y.x.af.mil'), { kind: 'relay', relay: 'dot-relay', port: 25 });
  t.deepEqual(findRoute(entries, 'af.mil'), { kind: 'relay', relay: 'default', port: 25 }, '.af.mil does not match af.mil');
  t.deepEqual(findRoute(entries, 'MX.example'), { kind: 'mx' });
  t.deepEqual(findRoute([], 'any.where'), { kind: 'mx' });
});

test('tlsrequired matches exact and suffix entries, never everything', (t) => {
  const entries = ['bank.example', '.secure.test'];
  t.true(tlsRequiredFor(entries, 'BANK.example'));
  t.true(tlsRequiredFor(entries, 'mx.secure.test'));
  t.false(tlsRequiredFor(entries, 'secure.test'));
  t.false(tlsRequiredFor(entries, 'other.example'));
});

test('remoteauth credentials are found by relay name, case-insensitively', (t) => {
  const entries = [{ relay: 'smart.isp', user: 'me@isp', password: 'pa:ss:word' }];
  t.is(authFor(entries, 'SMART.isp')?.user, 'me@isp');
  t.is(authFor(entries, 'other'), undefined);
});
