// The SMTP hooks end to end at each decision point: createMta({ listen: true, hooks }) on
// loopback, real clients (nodemailer, Python's smtplib). A connect refusal is 554 and a
// deferral 421, each followed by the close; a HELO refusal leaves the session open for a
// good name; AUTH is checked against the application's user table (accept, accept as
// another user named in the Received line, refuse 535, defer 454; nothing said falls
// through to users/passwd); MAIL refusals and deferrals; RCPT from the application's table
// with its own code, status and text, the accepted recipients delivered to the store; the
// end of DATA refusing a message by its content and accepting another.

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import nodemailer from 'nodemailer';
import type { AuthInput, HookSession } from '../../ts/index.js';
import { hashPassword } from '../../ts/users/passwd.js';
import { until } from '../helpers/wait.js';
import { message, smtplib, startHooked } from './hooks-harness.js';

const RECEIVED = /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n/;

function nodemailerError(err: unknown): { responseCode?: number; response?: string } {
  return err as { responseCode?: number; response?: string };
}

test('connect: a refusal is 554 and a deferral 421, each followed by the close; later clients are served', async (t) => {
  let mode: 'refuse' | 'defer' | 'none' = 'refuse';
  const seen: HookSession[] = [];
  const h = await startHooked(t, {
    connect: (session) => {
      seen.push(session);
      if (mode === 'refuse') return { action: 'refuse', text: 'no mail from your network' };
      return mode === 'defer' ? { action: 'defer' } : undefined;
    },
  });
  t.deepEqual(await smtplib(h.port, []), [[554, '5.7.1 no mail from your network'], ['closed']]);
  mode = 'defer';
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true });
  const err = nodemailerError(await t.throwsAsync(transport.sendMail({ from: 'alice@far.test', to: 'joe@app.test', text: 'x' })));
  t.regex(String(err.response), /^421 4\.7\.0 try again later/);
  t.deepEqual(await smtplib(h.port, []), [[421, '4.7.0 try again later'], ['closed']]);
  mode = 'none';
  await transport.sendMail({ from: 'alice@far.test', to: 'joe@app.test', subject: 'let in', text: 'x' });
  await until('the delivery', () => h.stored.length === 1);
  t.like(seen[0], { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', localPort: h.port, listener: 'smtp', secure: false, relayClient: true });
  t.deepEqual(seen[0]!.envelope, { rcptTo: [] });
  t.is(seen.length, 4);
  t.true(Object.isFrozen(seen[0]));
});

test('helo: a refused name gets the hook\'s reply at EHLO and HELO, and the session goes on with a good one', async (t) => {
  const asked: { name: string; ehlo: boolean }[] = [];
  let heloAtMail: string | undefined;
  const h = await startHooked(t, {
    helo: (helo) => {
      asked.push({ ...helo });
      return helo.name.endsWith('.bad') ? { action: 'refuse' } : undefined;
    },
    mail: (_from, session) => void (heloAtMail = session.helo),
  });
  const replies = await smtplib(h.port, [
    ['ehlo', 'spammer.bad'], ['helo', 'spammer.bad'], ['ehlo', 'client.good'],
    ['mail', 'alice@far.test'], ['rcpt', 'joe@app.test'], ['data', message('hello', 'hi')],
  ]);
  t.deepEqual(replies.slice(0, 3).map((r) => r.slice(0, 2)), [[220, replies[0]![1]], [550, '5.7.1 HELO refused'], [550, '5.7.1 HELO refused']]);
  t.deepEqual(replies.slice(3).map((r) => r[0]), [250, 250, 250, 250]);
  t.deepEqual(asked, [{ name: 'spammer.bad', ehlo: true }, { name: 'spammer.bad', ehlo: false }, { name: 'client.good', ehlo: true }]);
  t.is(heloAtMail, 'client.good');
  await until('the delivery', () => h.stored.length === 1);
  t.regex(h.stored[0]!.bytes, /^Received: from unknown \(HELO client\.good\) \(127\.0\.0\.1\)\n/);
});

test('auth: the application\'s user table accepts (optionally as another name, shown in Received), refuses 535, defers 454; nothing said falls through to users/passwd', async (t) => {
  const table = new Map([['ann', { password: 'apple' }], ['bob', { password: 'pear', as: 'bob@app.test' }]]);
  const asked: AuthInput[] = [];
  const users: (string | undefined)[] = [];
  const h = await startHooked(t, {
    auth: ({ method, username, password }) => {
      asked.push({ method, username, password });
      if (username === 'carl') return { action: 'defer', text: 'user database unavailable' };
      const u = table.get(username);
      if (!u) return undefined;
      if (u.password !== password) return { action: 'refuse' };
      return u.as ? { action: 'accept', user: u.as } : { action: 'accept' };
    },
    mail: (_from, session) => void users.push(session.user),
  });
  writeFileSync(join(h.home, 'users', 'passwd'), `dave:${await hashPassword('plum')}\n`);
  const send = (user: string, pass: string, subject: string) => nodemailer
    .createTransport({ host: '127.0.0.1', port: h.submission, secure: false, ignoreTLS: true, auth: { user, pass } })
    .sendMail({ from: `${user}@app.test`, to: 'joe@app.test', subject, text: 'x' });
  await send('ann', 'apple', 'as ann');
  await send('bob', 'pear', 'as bob');
  await send('dave', 'plum', 'as dave');
  const wrong = nodemailerError(await t.throwsAsync(send('ann', 'banana', 'wrong')));
  t.is(wrong.responseCode, 535);
  t.regex(String(wrong.response), /^535 5\.7\.8 authentication failed/);
  t.deepEqual(await smtplib(h.submission, [['ehlo', 'c'], ['auth', 'LOGIN', 'carl', 'x'], ['auth', 'PLAIN', 'eve', 'x'], ['mail', 'eve@app.test']]).then((r) => r.slice(2)),
    [[454, '4.7.0 user database unavailable'], [535, '5.7.8 authentication failed'], [530, '5.7.0 authentication required']]);
  await until('three deliveries', () => h.stored.length === 3);
  const received = Object.fromEntries(h.stored.map((s) => [/\nSubject: as (\w+)\n/.exec(s.bytes)![1]!, s.bytes]));
  t.regex(received.ann!, /\n {2}\(authenticated user ann\)\n {2}by mx\.app\.test \(qmta\) with ESMTPA; /);
  t.regex(received.bob!, /\n {2}\(authenticated user bob@app\.test\)\n/);
  t.regex(received.dave!, /\n {2}\(authenticated user dave\)\n/);
  t.deepEqual(users, ['ann', 'bob@app.test', 'dave']);
  t.deepEqual(asked.map((a) => [a.method, a.username, a.password]), [
    ['PLAIN', 'ann', 'apple'], ['PLAIN', 'bob', 'pear'], ['PLAIN', 'dave', 'plum'], ['PLAIN', 'ann', 'banana'],
    ['LOGIN', 'carl', 'x'], ['PLAIN', 'eve', 'x'],
  ]);
});

test('mail: the hook refuses and defers senders with its own replies, and sees the ESMTP parameters', async (t) => {
  const params: Record<string, string>[] = [];
  const h = await startHooked(t, {
    mail: ({ address, params: p }) => {
      params.push({ ...p });
      if (address.endsWith('@spam.test')) return { action: 'refuse', code: 553, status: '5.7.1', text: 'spam.test senders are not welcome' };
      return address.endsWith('@slow.test') ? { action: 'defer' } : undefined;
    },
  });
  const replies = await smtplib(h.port, [
    ['ehlo', 'c'], ['mail', 'x@spam.test'], ['mail', 'y@slow.test'], ['mail', 'alice@far.test', ['SIZE=300']],
    ['rcpt', 'joe@app.test'], ['data', message('kept', 'x')],
  ]);
  t.deepEqual(replies.slice(2, 5), [[553, '5.7.1 spam.test senders are not welcome'], [451, '4.7.1 sender deferred, try again later'], [250, '2.1.0 sender ok']]);
  t.is(replies[6]![0], 250);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true });
  const err = nodemailerError(await t.throwsAsync(transport.sendMail({ from: 'z@spam.test', to: 'joe@app.test', text: 'x' })));
  t.is(err.responseCode, 553);
  await until('the delivery', () => h.stored.length === 1);
  t.is(h.stored[0]!.sender, 'alice@far.test');
  t.deepEqual(params[2], { SIZE: '300' });
});

test('rcpt: the application\'s own recipients are accepted and delivered to its store; others get its code, status and text', async (t) => {
  const table = new Set(['joe@app.test', 'ann@app.test']);
  const envelopes: HookSession['envelope'][] = [];
  const h = await startHooked(t, {
    rcpt: ({ address }, session) => {
      envelopes.push(session.envelope);
      if (table.has(address)) return { action: 'accept' };
      if (address === 'moved@app.test') return { action: 'refuse', code: 551, status: '5.1.6', text: 'moved@app.test now lives at new.test' };
      return address.endsWith('@app.test') ? { action: 'refuse' } : undefined;
    },
  });
  const replies = await smtplib(h.port, [
    ['ehlo', 'c'], ['mail', 'alice@far.test'], ['rcpt', 'joe@app.test'], ['rcpt', 'moved@app.test'],
    ['rcpt', 'nobody@app.test'], ['rcpt', 'ann@app.test'], ['data', message('table', 'x')],
  ]);
  t.deepEqual(replies.slice(3, 7), [[250, '2.1.5 recipient ok'], [551, '5.1.6 moved@app.test now lives at new.test'], [550, '5.1.1 no mailbox here by that name'], [250, '2.1.5 recipient ok']]);
  t.is(replies[7]![0], 250);
  t.deepEqual(envelopes.map((e) => [e.mailFrom, e.rcptTo]), [
    ['alice@far.test', []], ['alice@far.test', ['joe@app.test']], ['alice@far.test', ['joe@app.test']], ['alice@far.test', ['joe@app.test']],
  ]);
  await until('two deliveries', () => h.stored.length === 2);
  t.deepEqual(h.stored.map((s) => s.recipient).sort(), ['ann@app.test', 'joe@app.test']);
});

test('data: the message as it will be queued is streamed to the hooks; one refused by its content, another accepted', async (t) => {
  const scanned: { size: number; bytes: string }[] = [];
  let afterScanner = 0;
  const h = await startHooked(t, {
    data: [
      async ({ size, stream }) => {
        const bytes = await text(stream);
        scanned.push({ size, bytes });
        return /BUY NOW/.test(bytes) ? { action: 'refuse', text: 'looks like spam' } : undefined;
      },
      () => { afterScanner++; return { action: 'accept' }; },
    ],
  });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true });
  const err = nodemailerError(await t.throwsAsync(transport.sendMail({ from: 'alice@far.test', to: 'joe@app.test', subject: 'offer', text: 'BUY NOW\n' })));
  t.is(err.responseCode, 554);
  t.regex(String(err.response), /^554 5\.7\.1 looks like spam/);
  const replies = await smtplib(h.port, [['ehlo', 'c'], ['mail', 'alice@far.test'], ['rcpt', 'joe@app.test'], ['data', message('ham', 'see you\n.at noon')]]);
  t.deepEqual(replies[4]![0], 250);
  await until('the delivery', () => h.stored.length === 1);
  t.is(afterScanner, 1, 'the second handler runs only when the first says nothing');
  t.is(scanned.length, 2);
  for (const s of scanned) {
    t.regex(s.bytes, RECEIVED);
    t.false(s.bytes.includes('\r'));
    t.is(s.size, Buffer.byteLength(s.bytes));
  }
  t.is(scanned[1]!.bytes, h.stored[0]!.bytes, 'the hook read exactly what was queued');
  t.true(h.stored[0]!.bytes.endsWith('\n\nsee you\n.at noon\n'));
});
