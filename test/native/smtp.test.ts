// The SMTP binding's contract: one step object per feed with all replies in one Buffer,
// decisions answered one at a time, body bytes kept inside the core (dot-unstuffed, LF
// line ends) and stored after the header lines, commit resolving with a report: a queue
// id that reads back through the queue API, or the maildir files written at accept time;
// failures as values.

import test from 'ava';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmtpSessionNative, type SmtpStep } from '../../ts/native.js';
import { openQueue } from '../../ts/queue/index.js';
import { tempDir } from '../helpers/home.js';

const settings = { hostname: 'mx.test', databytes: 1000 };

function session(t: Parameters<typeof tempDir>[0]): { s: SmtpSessionNative; root: string } {
  const root = join(tempDir(t), 'queue');
  const q = openQueue(root);
  if (q.kind !== 'ok') throw new Error(q.text);
  return { s: new SmtpSessionNative(settings, root), root };
}

test('a pipelined dialogue: decisions, one reply buffer per step, body in the queue', async (t) => {
  const { s, root } = session(t);
  t.is(s.greeting().toString(), '220 mx.test ESMTP qmta\r\n');
  let step: SmtpStep = s.feed(Buffer.from('EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<d@e.test>\r\nDATA\r\n'));
  t.true(step.replies.toString().startsWith('250-mx.test hello c.test\r\n'));
  t.deepEqual(step.decision, { kind: 'mail', address: 'a@b.test', size: undefined, body: undefined, smtputf8: false });
  t.is(s.helo(), 'c.test');
  step = s.answer({ code: 250, status: '2.1.0', text: 'ok' });
  t.deepEqual(step.decision, { kind: 'rcpt', address: 'd@e.test' });
  step = s.answer({ code: 250, status: '2.1.5', text: 'ok' });
  t.deepEqual(step.decision, { kind: 'dataStart', bdat: false });
  s.openBody(Buffer.from('Received: test\n'));
  step = s.answer({ code: 354, status: '', text: 'go' });
  t.is(step.replies.toString(), '354 end data with <CR><LF>.<CR><LF>\r\n');
  step = s.feed(Buffer.from('Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n'));
  t.deepEqual(step.decision, { kind: 'dataEnd', size: 22, hops: 0, refusal: undefined });
  const r = await s.commit('a@b.test', [{ address: 'd@e.test' }]);
  if (r.kind !== 'ok') return t.fail(r.text);
  t.like(r.value, { id: '', delivered: [], fallback: [], bytes: 15 + 22 });
  const id = r.value.queued!.id;
  t.deepEqual(r.value.queued!.recipients, [0]);
  step = s.answer({ code: 250, status: '2.0.0', text: `ok ${id}` });
  t.is(step.replies.toString(), `250 2.0.0 ok ${id}\r\n221 2.0.0 mx.test closing connection\r\n`);
  t.true(step.close);
  const q = openQueue(root);
  if (q.kind !== 'ok') return t.fail(q.text);
  t.deepEqual(q.value.listTodo(), [id]);
  const env = q.value.readTodo(id);
  t.like(env, { kind: 'ok', value: { sender: 'a@b.test', recipients: ['d@e.test'] } });
  t.is(readFileSync(q.value.bodyPath(id), 'latin1'), 'Received: test\nSubject: x\n\n.dot\nline\n');
});

test('a direct recipient is written into its maildir before the commit resolves, never queued', async (t) => {
  const { s, root } = session(t);
  const maildir = join(tempDir(t), 'Maildir');
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(maildir, sub), { recursive: true });
  s.feed(Buffer.from('EHLO c\r\nMAIL FROM:<a@b.test>\r\n'));
  s.answer({ code: 250, status: '2.1.0', text: 'ok' });
  s.feed(Buffer.from('RCPT TO:<joe@here.test>\r\n'));
  s.answer({ code: 250, status: '2.1.5', text: 'ok' });
  s.feed(Buffer.from('DATA\r\n'));
  s.openBody(Buffer.from('Received: test\n'));
  s.answer({ code: 354, status: '', text: 'go' });
  s.feed(Buffer.from('Subject: direct\r\n\r\nhi\r\n.\r\n'));
  const direct = { maildirs: [maildir], prefix: Buffer.from('Return-Path: <a@b.test>\nDelivered-To: joe@here.test\n'), dtline: 'Delivered-To: joe@here.test' };
  const r = await s.commit('a@b.test', [{ address: 'joe@here.test', direct }], Buffer.from('X-Extra: first\n'));
  if (r.kind !== 'ok') return t.fail(r.text);
  t.is(r.value.queued, undefined);
  t.regex(r.value.id, /^\d+$/);
  const files = readdirSync(join(maildir, 'new'));
  t.deepEqual(r.value.delivered, [{ index: 0, files: [join(maildir, 'new', files[0]!)] }]);
  t.is(readFileSync(join(maildir, 'new', files[0]!), 'latin1'),
    'Return-Path: <a@b.test>\nDelivered-To: joe@here.test\nX-Extra: first\nReceived: test\nSubject: direct\n\nhi\n');
  const q = openQueue(root);
  if (q.kind !== 'ok') return t.fail(q.text);
  t.deepEqual(q.value.listTodo(), []);
});

test('a refused body carries its refusal and leaves nothing in the queue', (t) => {
  const { s, root } = session(t);
  s.feed(Buffer.from('EHLO c\r\nMAIL FROM:<a@b.test>\r\n'));
  s.answer({ code: 250, status: '2.1.0', text: 'ok' });
  s.feed(Buffer.from('RCPT TO:<d@e.test>\r\n'));
  s.answer({ code: 250, status: '2.1.5', text: 'ok' });
  s.feed(Buffer.from('DATA\r\n'));
  s.openBody(Buffer.alloc(0));
  s.answer({ code: 354, status: '', text: 'go' });
  const step = s.feed(Buffer.from('a\n.\nMAIL FROM:<x@y.test>\r\n.\r\n'));
  t.deepEqual(step.decision, { kind: 'dataEnd', size: 25, hops: 0, refusal: { code: 554, status: '5.6.0', text: 'message refused: bare CR or LF in data (smuggling protection)' } });
  s.dropBody();
  t.is(s.answer({ code: 250, status: '2.0.0', text: 'ignored' }).replies.toString().slice(0, 9), '554 5.6.0');
  const q = openQueue(root);
  if (q.kind !== 'ok') return t.fail(q.text);
  t.deepEqual(q.value.listTodo(), []);
});

test('contract breaks and commits without a body are failures, not crashes', async (t) => {
  const { s } = session(t);
  t.throws(() => s.answer({ code: 250, status: '2.0.0', text: 'x' }), { message: /answer without a pending decision/ });
  t.throws(() => s.tlsStarted(), { message: /tls_started without STARTTLS/ });
  t.like(await s.commit('a@b', [{ address: 'c@d' }]), { kind: 'temp', status: '4.3.0' });
});

test('a queue that cannot be opened throws a coded error at construction', (t) => {
  const err = t.throws(() => new SmtpSessionNative(settings, '/proc/qmta-no-such-queue'));
  t.regex(String((err as { code?: string }).code), /^QMTA_(TEMP|PERM)$/);
});
