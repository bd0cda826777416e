// SRS's pure parts: forward and reverse (SRS0, SRS1), forged and expired addresses, case,
// secret rotation; the forwarding sender's rules; recipient routing and the RCPT check.

import test from 'ava';
import { srsForward, srsReverse, type SrsSettings } from '../../ts/srs/srs.js';
import { forwardingSender } from '../../ts/srs/forward.js';
import { rewriteRecipient, routeTable } from '../../ts/route/rewrite.js';
import { checkRecipient } from '../../ts/local/dot-qmail-check.js';
import { tableOf } from '../../ts/users/assign.js';

const S: SrsSettings = { secrets: ['a-secret-of-16-chars-or-more'], domain: 'fwd.test' };
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7);

test('SRS0 round trip; the local part keeps its case and odd characters', (t) => {
  const a = srsForward('Alice.Q+tag@Example.ORG', S, NOW);
  t.regex(a, /^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=Example\.ORG=Alice\.Q\+tag@fwd\.test$/);
  const local = a.slice(0, a.lastIndexOf('@'));
  t.deepEqual(srsReverse(local, S, NOW), { kind: 'ok', address: 'Alice.Q+tag@Example.ORG' });
  t.deepEqual(srsReverse(local.toLowerCase(), S, NOW + 3 * DAY), { kind: 'ok', address: 'alice.q+tag@example.org' }, 'a lowercasing MTA on the way');
});

test('SRS1: a forwarded SRS0 address keeps its first forwarder; reversal gives that SRS0 back', (t) => {
  const first = srsForward('bob@origin.test', { secrets: ['another-secret-16chars'], domain: 'hop1.test' }, NOW);
  const second = srsForward(first, S, NOW);
  const firstLocal = first.slice(0, first.indexOf('@'));
  t.is(second, `SRS1=${second.slice(5, 9)}=hop1.test=${firstLocal.slice(4)}@fwd.test`);
  t.deepEqual(srsReverse(second.slice(0, second.lastIndexOf('@')), S, NOW), { kind: 'ok', address: first });
  const third = srsForward(second, { secrets: ['third-secret-16-chars'], domain: 'hop3.test' }, NOW);
  t.regex(third, /^SRS1=[^=]{4}=hop1\.test==[^=]{4}=[A-Z2-7]{2}=origin\.test=bob@hop3\.test$/, 'still one hop: the first forwarder');
});

test('forged, expired, future and malformed SRS addresses are refused; an old secret still verifies', (t) => {
  const local = srsForward('carol@origin.test', S, NOW).split('@')[0]!;
  const forged = local.replace(/=origin\.test=/, '=evil.test=');
  t.is(srsReverse(forged, S, NOW).kind, 'forged');
  t.is(srsReverse(`SRS0=AAAA=${local.split('=')[2]}=origin.test=carol`, S, NOW).kind, 'forged');
  t.is(srsReverse(local, S, NOW + 22 * DAY).kind, 'expired');
  t.is(srsReverse(local, S, NOW + 21 * DAY).kind, 'ok');
  t.is(srsReverse(local, S, NOW - 2 * DAY).kind, 'expired', 'a stamp from the future');
  for (const bad of ['SRS0=xx', 'SRS0=hash=T=dom', 'SRS2=a=b=c=d', 'SRS1=abcd=host']) t.is(srsReverse(bad, S, NOW).kind, 'malformed', bad);
  const rotated: SrsSettings = { secrets: ['the-new-secret-16-chars', ...S.secrets], domain: 'fwd.test' };
  t.is(srsReverse(local, rotated, NOW).kind, 'ok');
  t.not(srsForward('carol@origin.test', rotated, NOW), srsForward('carol@origin.test', S, NOW), 'the first secret signs');
});

test('forwardingSender: our domains, bounces, VERP and no SRS keep the sender', (t) => {
  const srs = { ...S, ours: ['example.test', '.sub.example.test', 'fwd.test'] };
  t.regex(forwardingSender('x@outside.test', srs, NOW), /^SRS0=.*=outside\.test=x@fwd\.test$/);
  for (const keep of ['', '#@[]', 'me@Example.TEST', 'a@b.sub.example.test', 'team-owner-@example.test-@[]']) {
    t.is(forwardingSender(keep, srs, NOW), keep, keep);
  }
  t.is(forwardingSender('x@outside.test', undefined, NOW), 'x@outside.test');
});

const ROUTES = { envnoathost: 'fwd.test', percenthack: [], locals: ['fwd.test'], virtualdomains: [], srssecrets: S.secrets, srsdomain: 'fwd.test' };

test('routing: a valid SRS address of srsdomain goes back to its sender, remote; others route as before', (t) => {
  const table = routeTable(ROUTES);
  const a = srsForward('dave@origin.test', S);
  t.deepEqual(rewriteRecipient(a, table), { channel: 'remote', address: 'dave@origin.test' });
  const forged = a.replace('=origin.test=', '=evil.test=');
  t.deepEqual(rewriteRecipient(forged, table), { channel: 'local', address: forged });
  t.deepEqual(rewriteRecipient(a, routeTable({ ...ROUTES, srssecrets: [] })), { channel: 'local', address: a }, 'SRS off');
});

test('RCPT check: a forged or expired SRS address is refused (550 5.1.1), a valid one accepted', (t) => {
  const deps = { route: routeTable(ROUTES), users: tableOf([]), alias: { home: '/nonexistent', uid: 0, gid: 0 } };
  const a = srsForward('erin@origin.test', S);
  t.deepEqual(checkRecipient(a, deps), { kind: 'ok', value: true });
  t.deepEqual(checkRecipient(a.replace('=origin.test=', '=evil.test='), deps), { kind: 'ok', value: false });
  const old = srsForward('erin@origin.test', S, Date.now() - 30 * DAY);
  t.deepEqual(checkRecipient(old, deps), { kind: 'ok', value: false });
});
