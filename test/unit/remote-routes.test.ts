// smtproutes syntax and lookup order, tlsrequired and remoteauth matching.

import test from 'ava';
import { parseRemoteAuth, parseSmtpRoutes, parseTlsRequired } from '../../ts/remote/control-syntax.js';
import { authFor, findRoute, tlsRequiredFor } from '../../ts/remote/routes.js';
import { lookupKeys } from '../../ts/remote/settings.js';

test('lookup keys follow qmail: a.b.c, .b.c, .c, empty', (t) => {
  t.deepEqual(lookupKeys('A.b.C'), ['a.b.c', '.b.c', '.c', '']);
  t.deepEqual(lookupKeys('localhost'), ['localhost', '']);
});

test('smtproutes syntax: relay, port, brackets, default route, empty relay', (t) => {
  const { entries, errors } = parseSmtpRoutes([
    'inside.af.mil:firewall.af.mil:26', ':smarthost.isp.net', 'example.com:', 'lit.test:[192.0.2.1]:2525',
    'v6.test:[IPv6:2001:db8::1]:25', 'bad', 'x.test:relay:99999', 'y.test:re lay',
  ]);
  t.deepEqual(entries, [
    { key: 'inside.af.mil', relay: 'firewall.af.mil', port: 26 },
    { key: '', relay: 'smarthost.isp.net', port: 25 },
    { key: 'example.com', relay: '', port: 25 },
    { key: 'lit.test', relay: '192.0.2.1', port: 2525 },
    { key: 'v6.test', relay: '2001:db8::1', port: 25 },
  ]);
  t.is(errors.length, 3);
  t.regex(errors[0]!, /missing colon/);
});

test('first hit wins in key order; empty relay means MX; suffix keys skip the bare domain', (t) => {
  const { entries } = parseSmtpRoutes(['.af.mil:dot-relay', 'x.af.mil:exact:2525', 'mx.example:', ':default']);
  t.deepEqual(findRoute(entries, 'x.af.mil'), { kind: 'relay', relay: 'exact', port: 2525 });
  t.deepEqual(findRoute(entries, 'y.x.af.mil'), { kind: 'relay', relay: 'dot-relay', port: 25 });
  t.deepEqual(findRoute(entries, 'af.mil'), { kind: 'relay', relay: 'default', port: 25 }, '.af.mil does not match af.mil');
  t.deepEqual(findRoute(entries, 'MX.example'), { kind: 'mx' });
  t.deepEqual(findRoute([], 'any.where'), { kind: 'mx' });
});

test('tlsrequired matches exact and suffix entries, never everything', (t) => {
  const { entries, errors } = parseTlsRequired(['bank.example', '.secure.test', 'not a domain']);
  t.is(errors.length, 1);
  t.true(tlsRequiredFor(entries, 'BANK.example'));
  t.true(tlsRequiredFor(entries, 'mx.secure.test'));
  t.false(tlsRequiredFor(entries, 'secure.test'));
  t.false(tlsRequiredFor(entries, 'other.example'));
});

test('remoteauth keeps colons in passwords and never echoes a bad line', (t) => {
  const { entries, errors } = parseRemoteAuth(['Smart.isp:me@isp:pa:ss:word', 'broken secret-line']);
  t.deepEqual(entries, [{ relay: 'smart.isp', user: 'me@isp', password: 'pa:ss:word' }]);
  t.is(errors.length, 1);
  t.false(errors[0]!.includes('secret'));
  t.is(authFor(entries, 'SMART.isp')?.user, 'me@isp');
  t.is(authFor(entries, 'other'), undefined);
});
