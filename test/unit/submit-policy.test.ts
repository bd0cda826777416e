// ts/submit/policy.ts: who may send as whom over qmta.sock, and who sees which queued
// messages in a listing (mailq).

import test from 'ava';
import { ownSender, seesWholeQueue, senderAllowed } from '../../ts/submit/policy.js';

const s = { self: 990, trusted: ['ann'], hosts: ['mx.example', 'example.org'] };
const bob = { uid: 1001, name: 'bob' };

test('root, the daemon\'s account and trusted users see the whole queue and may use any sender', (t) => {
  for (const c of [{ uid: 0, name: 'root' }, { uid: 990, name: 'qmta' }, { uid: 1002, name: 'ann' }]) {
    t.true(seesWholeQueue(c, s), c.name);
    t.is(senderAllowed(c, 'anyone@far.example', s), undefined);
  }
  t.true(seesWholeQueue(bob, { ...s, trusted: ['*'] }), '* trusts everyone');
  t.false(seesWholeQueue(bob, s));
  t.false(seesWholeQueue({ uid: 1003, name: undefined }, s), 'a uid with no account');
});

test('another user owns NAME and NAME-EXT at a local domain only', (t) => {
  for (const a of ['bob@mx.example', 'bob-list@MX.example', 'bob-@example.org']) t.true(ownSender(bob, a, s), a);
  for (const a of ['bobby@mx.example', 'bob@far.example', 'bob', '', 'ann@mx.example']) t.false(ownSender(bob, a, s), a);
  t.false(ownSender({ uid: 1003, name: undefined }, 'bob@mx.example', s));
  t.is(senderAllowed(bob, '', s), undefined, 'the null sender may be used by anyone');
  t.is(senderAllowed(bob, 'ann@mx.example', s), 'uid 1001 (bob) may not send as <ann@mx.example>');
});
