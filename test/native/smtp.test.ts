// The SMTP binding's contract: one step object per feed with all replies in one Buffer,
// decisions answered one at a time, body bytes written into the queue inside the core
// (dot-unstuffed, LF line ends, after the Received prefix), commit resolving with a
// queue id that reads back through the queue API; failures as values.

import test from 'ava';
import { readFileSync } from 'node:fs';
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
  t.deepEqual(s.openBody(Buffer.from('Received: test\n')), { kind: 'ok', value: undefined });
  step = s.answer({ code: 354, status: '', text: 'go' });
  t.is(step.replies.toString(), '354 end data with <CR><LF>.<CR><LF>\r\n');
  step = s.feed(Buffer.from('Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n'));
  t.deepEqual(step.decision, { kind: 'dataEnd', size: 22, hops: 0, refusal: undefined });
  const id = await s.commit('a@b.test', ['d@e.test']);
  if (id.kind !== 'ok') return t.fail(id.text);
  step = s.answer({ code: 250, status: '2.0.0', text: `ok ${id.value}` });
  t.is(step.replies.toString(), `250 2.0.0 ok ${id.value}\r\n221 2.0.0 mx.test closing connection\r\n`);
  t.true(step.close);
  const q = openQueue(root);
  if (q.kind !== 'ok') return t.fail(q.text);
  t.deepEqual(q.value.listTodo(), [id.value]);
  const env = q.value.readTodo(id.value);
  t.like(env, { kind: 'ok', value: { sender: 'a@b.test', recipients: ['d@e.test'] } });
  t.is(readFileSync(q.value.bodyPath(id.value), 'latin1'), 'Received: test\nSubject: x\n\n.dot\nline\n');
});

test('a refused body carries its refusal and leaves nothing in the queue', (t) => {
  const { s, root } = session(t);
  s.feed(Buffer.from('EHLO c\r\nMAIL FROM:<a@b.test>\r\n'));
  s.answer({ code: 250, status: '2.1.0', text: 'ok' });
  s.feed(Buffer.from('RCPT TO:<d@e.test>\r\n'));
  s.answer({ code: 250, status: '2.1.5', text: 'ok' });
  s.feed(Buffer.from('DATA\r\n'));
  t.is(s.openBody(Buffer.alloc(0)).kind, 'ok');
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
  t.like(await s.commit('a@b', ['c@d']), { kind: 'temp', status: '4.3.0' });
});

test('a queue that cannot be opened throws a coded error at construction', (t) => {
  const err = t.throws(() => new SmtpSessionNative(settings, '/proc/qmta-no-such-queue'));
  t.regex(String((err as { code?: string }).code), /^QMTA_(TEMP|PERM)$/);
});
