// Bounces through the real queue: double bounce to doublebounceto, triple bounce dropped
// and logged, queuelifetime's last attempt, bouncefrom/bouncehost, the capped copy and
// control/bouncemaxbytes.

import test from 'ava';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { setupLocal } from './local-setup.js';

const MSG = 'From: x@y\nSubject: orig\n\nbody\n';

test('a failed bounce becomes a double bounce (sender #@[]) to doublebounceto@doublebouncehost', async (t) => {
  const s = await setupLocal(t, ['joe'], { doublebounceto: 'joe' });
  await s.send('', ['nobody-here@mx.example'], MSG);
  const got = s.maildir(join(s.userHome('joe'), 'Maildir'));
  t.is(got.length, 1);
  const m = got[0]!;
  t.true(m.startsWith('Return-Path: <#@[]>\nDelivered-To: joe@mx.example\n'), m);
  t.true(m.includes('\n\nHi. This is the qmail-send program at mx.example.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n'));
  t.true(m.includes('<nobody-here@mx.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below this line is the original bounce.\n\nReturn-Path: <>\n'));
  t.true(m.endsWith(MSG));
});

test('a failed double bounce is dropped and logged as a triple bounce', async (t) => {
  const lines: object[] = [];
  const log = { info: (o: object) => lines.push(o), warn: (o: object) => lines.push(o), error: (o: object) => lines.push(o) };
  const s = await setupLocal(t, ['joe'], {}, log);
  const bounced: { id: string; bounce: string | undefined }[] = [];
  s.mta.on('bounced', (e) => bounced.push(e));
  const id = await s.send('#@[]', ['nobody-here@mx.example'], MSG);
  t.deepEqual(bounced, [{ id, bounce: undefined }]);
  t.true(lines.some((o) => (o as { event?: string }).event === 'triple bounce'));
  t.deepEqual(s.maildir(join(s.home, 'alias', 'Maildir')), []);
  t.is(s.remote.length, 0);
});

test('past queuelifetime the last deferral becomes a failure with qmail\'s line; bouncefrom/bouncehost honoured', async (t) => {
  const s = await setupLocal(t, ['joe'], { queuelifetime: 0, bouncefrom: 'robot', bouncehost: 'bh.example' });
  s.dotQmail('joe', '.qmail-slow', '|echo still busy; exit 111\n');
  await s.send('a@far.example', ['joe-slow@mx.example'], MSG);
  t.is(s.remote.length, 1);
  const b = await simpleParser(Buffer.from(s.remote[0]!.body));
  t.is(b.from?.text, 'robot@bh.example');
  const text = b.text ?? '';
  t.true(text.startsWith('Hi. This is the qmail-send program at bh.example.\n'));
  t.true(text.includes("<joe-slow@mx.example>:\nstill busy (#4.3.0)\nI'm not going to try again; this message has been in the queue too long.\n"), text);
});

test('the bounce carries the original\'s header and only 64 KiB of its body', async (t) => {
  const s = await setupLocal(t, []);
  const big = 'From: x@y\nSubject: big\n\n' + ('z'.repeat(99) + '\n').repeat(3000);
  await s.send('a@far.example', ['nobody-here@mx.example'], big);
  const body = s.remote[0]!.body;
  const copy = body.slice(body.indexOf('Return-Path: <a@far.example>\n'));
  t.true(copy.includes('Subject: big\n'));
  t.true(copy.length < 65536 + 200, `copy is ${copy.length} bytes`);
  t.regex(copy, /\[qmta: the last \d+ bytes of the original message were not copied\]\n$/);
});

test('control/bouncemaxbytes sets how much of the original\'s body a bounce copies', async (t) => {
  const s = await setupLocal(t, [], { bouncemaxbytes: 1000 });
  const big = 'From: x@y\nSubject: big\n\n' + ('z'.repeat(99) + '\n').repeat(3000);
  await s.send('a@far.example', ['nobody-here@mx.example'], big);
  const body = s.remote[0]!.body;
  const copy = body.slice(body.indexOf('Return-Path: <a@far.example>\n'));
  const copied = copy.split('\n').filter((l) => l === 'z'.repeat(99)).length;
  t.true(copied >= 9 && copied <= 10, `${copied} body lines copied`);
  t.regex(copy, /\[qmta: the last \d+ bytes of the original message were not copied\]\n$/);
});

test('a virtual domain recipient is delivered through its prepend and bounced under the address the sender used', async (t) => {
  const s = await setupLocal(t, ['joe'], { virtualdomains: ['virt.example:joe'] });
  s.dotQmail('joe', '.qmail-info', './Maildir/\n');
  await s.send('a@far.example', ['info@virt.example', 'nobody@virt.example'], MSG);
  const got = s.maildir(join(s.userHome('joe'), 'Maildir'));
  t.is(got.length, 1);
  t.true(got[0]!.startsWith('Return-Path: <a@far.example>\nDelivered-To: joe-info@virt.example\n'));
  t.is(s.remote.length, 1);
  t.true(s.remote[0]!.body.includes('\n<nobody@virt.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n'), s.remote[0]!.body);
});
