// Where the hooks stand among qmta's own rules, end to end (createMta({ listen: true,
// hooks }), Python's smtplib): qmta's checks come first and a hook that accepts everything
// changes none of them (denyclients 554 before the connect hook, badmailfrom 553, relay
// control 553, AUTH required on submission 530); and where mail goes for a recipient a rcpt
// hook accepted but users/assign does not know: without a store it follows qmail's routing,
// so it bounces after the 250 unless the alias has a .qmail-default, which then takes it.

import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../helpers/wait.js';
import { message, smtplib, startHooked } from './hooks-harness.js';

// A stranger's MAIL FROM gets an SPF check: a resolver that answers nothing, at once.
const STRANGER = { relayclients: [], dnsservers: ['127.0.0.1:1'], authtimeout: 1 };

test('qmta\'s own checks come first: a hook that accepts everything opens no relay, lets no badmailfrom sender in, skips no AUTH', async (t) => {
  const calls: string[] = [];
  const h = await startHooked(t, {
    mail: ({ address }) => { calls.push(`mail ${address}`); return { action: 'accept' }; },
    rcpt: ({ address }) => { calls.push(`rcpt ${address}`); return { action: 'accept' }; },
  }, { control: { ...STRANGER, badmailfrom: ['bad@far.test'] } });
  const replies = await smtplib(h.port, [
    ['ehlo', 'c'], ['mail', 'bad@far.test'], ['mail', 'alice@far.test'], ['rcpt', 'victim@elsewhere.test'],
    ['rcpt', 'victim%elsewhere.test@app.test'], ['rcpt', 'joe@app.test'], ['data', message('ok', 'x')],
  ]);
  t.deepEqual(replies.slice(2), [
    [553, '5.7.1 sorry, your envelope sender is in my badmailfrom list'], [250, '2.1.0 sender ok'],
    [553, "5.7.1 sorry, that domain isn't in my list of allowed rcpthosts"], [553, "5.7.1 sorry, that domain isn't in my list of allowed rcpthosts"],
    [250, '2.1.5 recipient ok'], replies[7]!,
  ]);
  t.is(replies[7]![0], 250);
  const submission = await smtplib(h.submission, [['ehlo', 'c'], ['mail', 'alice@app.test']]);
  t.deepEqual(submission[2], [530, '5.7.0 authentication required']);
  t.deepEqual(calls, ['mail alice@far.test', 'rcpt joe@app.test']);
  await until('the delivery', () => h.stored.length === 1);
  await h.mta.idle();
  t.deepEqual(h.remote, [], 'nothing relayed');
});

test('denyclients refuses before the connect hook is asked', async (t) => {
  let asked = 0;
  const h = await startHooked(t, { connect: () => { asked++; return { action: 'accept' }; } }, { control: { denyclients: ['127.0.0.1'] } });
  const replies = await smtplib(h.port, []);
  t.is(replies[0]![0], 554);
  t.deepEqual(replies[1], ['closed']);
  t.is(asked, 0);
});

test('a rcpt accept of an address users/assign does not know: without a store it bounces after the 250, with the alias\'s .qmail-default it lands there', async (t) => {
  const h = await startHooked(t, { rcpt: ({ address }) => (address === 'ghost@app.test' ? { action: 'accept' } : undefined) }, { store: false });
  const first = await smtplib(h.port, [['ehlo', 'c'], ['mail', 'alice@far.test'], ['rcpt', 'ghost@app.test'], ['rcpt', 'other@app.test'], ['data', message('lost', 'x')]]);
  t.deepEqual(first.slice(3, 5), [[250, '2.1.5 recipient ok'], [550, '5.1.1 sorry, no mailbox here by that name']], 'the hook\'s accept skips the rcptcheck that refuses the other');
  t.is(first[5]![0], 250);
  await until('the bounce', () => h.remote.includes('alice@far.test'));
  t.true(h.events.includes('failed ghost@app.test: Sorry, no mailbox here by that name. (#5.1.1)'), h.events.join('\n'));
  writeFileSync(join(h.home, 'alias', '.qmail-default'), './Maildir/\n');
  const second = await smtplib(h.port, [['ehlo', 'c'], ['mail', 'alice@far.test'], ['rcpt', 'ghost@app.test'], ['data', message('caught', 'x')]]);
  t.is(second[4]![0], 250);
  const dir = join(h.home, 'alias', 'Maildir', 'new');
  const [file] = await until('the maildir copy', () => readdirSync(dir).length > 0 && readdirSync(dir));
  t.regex(readFileSync(join(dir, file!), 'utf8'), /^Return-Path: <alice@far\.test>\nDelivered-To: ghost@app\.test\nReceived: [\s\S]*\nSubject: caught\n/);
});
