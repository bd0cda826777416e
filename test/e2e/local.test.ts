// Local delivery end to end through the real queue, dot-qmail planner, worker pool and
// mailbox writers: every line type, program environment and exit codes, forwards,
// Delivered-To loops, -owner and VERP senders, bounces of local failures.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { setupLocal } from './local-setup.js';

const MSG = 'From: a@far.example\nSubject: test\n\nFrom the start\nbody\n';

test('maildir, mbox, program and forward lines of one .qmail all deliver, in order', async (t) => {
  const s = await setupLocal(t, ['joe', 'bob', 'carol']);
  s.dotQmail('joe', '.qmail', [
    '# comment line', './Maildir/', './mbox',
    '|echo "prog $SENDER $RECIPIENT" > prog.out; cat > prog.msg',
    '&bob@mx.example', 'carol@mx.example', '',
  ].join('\n'));
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  const joe = s.maildir(join(s.userHome('joe'), 'Maildir'));
  t.deepEqual(joe, [`Return-Path: <a@far.example>\nDelivered-To: joe@mx.example\n${MSG}`]);
  const mbox = readFileSync(join(s.userHome('joe'), 'mbox'), 'utf8');
  t.regex(mbox, /^From a@far\.example \w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <a@far\.example>\nDelivered-To: joe@mx\.example\n/);
  t.true(mbox.includes('\n>From the start\nbody\n\n'), 'mboxrd quoting and the final blank line');
  t.is(readFileSync(join(s.userHome('joe'), 'prog.out'), 'utf8'), 'prog a@far.example joe@mx.example\n');
  t.is(readFileSync(join(s.userHome('joe'), 'prog.msg'), 'utf8'), MSG, 'programs get the message without the added lines');
  for (const u of ['bob', 'carol']) {
    const got = s.maildir(join(s.userHome(u), 'Maildir'));
    t.deepEqual(got, [`Return-Path: <a@far.example>\nDelivered-To: ${u}@mx.example\nDelivered-To: joe@mx.example\n${MSG}`], u);
  }
  t.true(s.events.some((x) => x.kind === 'delivered' && x.e.recipient === 'joe@mx.example' && /^did 2\+2\+1 qp \S+$/.test(x.e.report)));
});

test('programs get qmail\'s environment; DEFAULT comes from a -default file', async (t) => {
  const s = await setupLocal(t, ['joe']);
  s.dotQmail('joe', '.qmail-foo-default', '|env > env.out\n');
  await s.send('a@far.example', ['joe-foo-Bar-baz@mx.example'], MSG);
  const env = Object.fromEntries(readFileSync(join(s.userHome('joe'), 'env.out'), 'utf8')
    .split('\n').filter((l) => /^[A-Z0-9]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.like(env, {
    SENDER: 'a@far.example', NEWSENDER: 'a@far.example', RECIPIENT: 'joe-foo-Bar-baz@mx.example',
    USER: 'joe', HOME: s.userHome('joe'), LOCAL: 'joe-foo-Bar-baz', HOST: 'mx.example', HOST2: 'mx', HOST3: 'mx', HOST4: 'mx',
    EXT: 'foo-Bar-baz', EXT2: 'Bar-baz', EXT3: 'baz', EXT4: '', DEFAULT: 'Bar-baz',
    DTLINE: 'Delivered-To: joe-foo-Bar-baz@mx.example', RPLINE: 'Return-Path: <a@far.example>',
  });
  t.regex(env.UFLINE ?? '', /^From a@far\.example \w{3} \w{3} \d\d /);
});

test('program exit codes: 100 bounces with its output, 111 defers, 99 stops the following lines', async (t) => {
  const s = await setupLocal(t, ['joe']);
  s.dotQmail('joe', '.qmail-perm', '|echo "no such list"; exit 100\n');
  s.dotQmail('joe', '.qmail-temp', '|echo "busy now"; exit 111\n');
  s.dotQmail('joe', '.qmail-stop', '|echo stopping here; exit 99\n./Maildir/\n');
  s.dotQmail('joe', '.qmail-sysexit', '|exit 67\n');
  await s.send('a@far.example', ['joe-perm@mx.example', 'joe-temp@mx.example', 'joe-stop@mx.example'], MSG);
  const perm = s.events.find((x) => x.e.recipient === 'joe-perm@mx.example')!;
  t.is(perm.kind, 'failed');
  t.regex(perm.e.report, /no such list/);
  const tmp = s.events.find((x) => x.e.recipient === 'joe-temp@mx.example')!;
  t.is(tmp.kind, 'deferred');
  t.regex(tmp.e.report, /busy now/);
  const stop = s.events.find((x) => x.e.recipient === 'joe-stop@mx.example')!;
  t.is(stop.kind, 'delivered');
  t.is(stop.e.report, 'stopping here\ndid 0+0+1', 'a successful program\'s output is in the report');
  t.deepEqual(s.maildir(join(s.userHome('joe'), 'Maildir')), [], 'exit 99 skipped the maildir line');
  await s.send('a@far.example', ['joe-sysexit@mx.example'], MSG);
  t.is(s.events.find((x) => x.e.recipient === 'joe-sysexit@mx.example')!.kind, 'deferred', '67 is not in qmail\'s permanent list');
});

test('a forwarding loop is stopped by the Delivered-To check (5.4.6) and bounced', async (t) => {
  const s = await setupLocal(t, ['joe', 'bob']);
  s.dotQmail('joe', '.qmail', '&bob@mx.example\n');
  s.dotQmail('bob', '.qmail', '&joe@mx.example\n');
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  const loop = s.events.find((x) => x.kind === 'failed')!;
  t.is(loop.e.recipient, 'joe@mx.example');
  t.regex(loop.e.report, /This message is looping: it already has my Delivered-To line\. \(#5\.4\.6\)/);
  t.is(s.remote.length, 1, 'one bounce, to the original sender');
  t.deepEqual(s.remote[0]!.recipients, ['a@far.example']);
  t.is(s.remote[0]!.sender, '');
  const bounce = await simpleParser(Buffer.from(s.remote[0]!.body));
  t.is(bounce.subject, 'failure notice');
  t.true((bounce.text ?? '').includes('<joe@mx.example>:\nThis message is looping'));
});

test('-owner gives forwards the owner sender; -owner-default asks for VERP per recipient', async (t) => {
  const s = await setupLocal(t, ['joe', 'bob']);
  s.dotQmail('joe', '.qmail-list', '&bob@mx.example\n&zed@far.example\n');
  s.dotQmail('joe', '.qmail-list-owner', './Maildir/\n');
  await s.send('a@far.example', ['joe-list@mx.example'], MSG);
  t.true(s.maildir(join(s.userHome('bob'), 'Maildir'))[0]!.startsWith('Return-Path: <joe-list-owner@mx.example>\n'));
  t.is(s.remote[0]!.sender, 'joe-list-owner@mx.example');
  s.dotQmail('joe', '.qmail-list-owner-default', './Maildir/\n');
  await s.send('a@far.example', ['joe-list@mx.example'], MSG);
  const bob = s.maildir(join(s.userHome('bob'), 'Maildir'));
  t.true(bob.some((m) => m.startsWith('Return-Path: <joe-list-owner-bob=mx.example@mx.example>\n')), bob.join('\n---\n'));
  t.is(s.remote[1]!.sender, 'joe-list-owner-zed=far.example@mx.example');
});

test('qmta\'s own bounce of a VERP list message goes to P@H (suffix dropped), handled by -owner-default', async (t) => {
  const s = await setupLocal(t, ['joe']);
  s.dotQmail('joe', '.qmail-list', '&nobody-here@mx.example\n');
  s.dotQmail('joe', '.qmail-list-owner', './Maildir/\n');
  s.dotQmail('joe', '.qmail-list-owner-default', '|echo "[$DEFAULT] $RECIPIENT $SENDER" > bounced.for; cat > bounced.msg\n');
  await s.send('a@far.example', ['joe-list@mx.example'], MSG);
  t.is(readFileSync(join(s.userHome('joe'), 'bounced.for'), 'utf8'), '[] joe-list-owner-@mx.example \n');
  t.true(readFileSync(join(s.userHome('joe'), 'bounced.msg'), 'utf8').includes('<nobody-here@mx.example>:\nSorry, no mailbox here by that name. (#5.1.1)'));
});

test('an extension without a .qmail file bounces 5.1.1; a bare user without .qmail gets ./Maildir/', async (t) => {
  const s = await setupLocal(t, ['joe']);
  await s.send('a@far.example', ['joe@mx.example', 'joe-nothing@mx.example'], MSG);
  t.is(s.maildir(join(s.userHome('joe'), 'Maildir')).length, 1);
  const f = s.events.find((x) => x.kind === 'failed')!;
  t.is(f.e.recipient, 'joe-nothing@mx.example');
  t.regex(f.e.report, /\(#5\.1\.1\)/);
  t.is(s.remote.length, 1);
  t.true(s.remote[0]!.body.includes('<joe-nothing@mx.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n'));
});

test('a writable .qmail is refused (temporary 4.7.0); an mbox line in a forward-only (x bit) file too', async (t) => {
  const s = await setupLocal(t, ['joe']);
  s.dotQmail('joe', '.qmail-ww', './Maildir/\n', 0o666);
  s.dotQmail('joe', '.qmail-fo', './mbox\n', 0o744);
  await s.send('a@far.example', ['joe-ww@mx.example', 'joe-fo@mx.example'], MSG);
  for (const r of ['joe-ww@mx.example', 'joe-fo@mx.example']) {
    const e = s.events.find((x) => x.e.recipient === r)!;
    t.is(e.kind, 'deferred', r);
    t.regex(e.e.report, /\(#4\.7\.0\)/, r);
  }
  t.false(existsSync(join(s.userHome('joe'), 'mbox')));
});

test('as root, programs run as the mailbox owner and mboxes must be writable by the owner', async (t) => {
  if (process.getuid?.() !== 0) {
    t.log('not root: programs and mboxes run as qmta\'s own user, nothing to switch');
    t.pass();
    return;
  }
  const { addUser } = await import('../../ts/users/index.js');
  const { chownSync, mkdirSync, statSync } = await import('node:fs');
  const s = await setupLocal(t, []);
  const added = await addUser(s.home, 'nob', { uid: 65534, gid: 65534 });
  t.is(added.kind, 'ok');
  chownSync(s.userHome('nob'), 65534, 65534);
  await s.mta.reload();
  mkdirSync(join(s.home, 'rootonly'), { mode: 0o700 });
  s.dotQmail('nob', '.qmail-prog', '|echo "uid $(id -u) gid $(id -g)"; exit 100\n');
  s.dotQmail('nob', '.qmail-mine', './mbox\n');
  s.dotQmail('nob', '.qmail-theirs', `${join(s.home, 'rootonly', 'mbox')}\n`);
  await s.send('a@far.example', ['nob-prog@mx.example', 'nob-mine@mx.example', 'nob-theirs@mx.example'], MSG);
  const ev = (r: string) => s.events.find((x) => x.e.recipient === r)!;
  t.regex(ev('nob-prog@mx.example').e.report, /uid 65534 gid 65534/);
  t.is(ev('nob-mine@mx.example').kind, 'delivered');
  t.is(statSync(join(s.userHome('nob'), 'mbox')).uid, 65534, 'a new mbox belongs to its owner');
  t.is(ev('nob-theirs@mx.example').kind, 'deferred');
  t.regex(ev('nob-theirs@mx.example').e.report, /not writable by uid 65534\. \(#4\.7\.0\)/);
  t.false(existsSync(join(s.home, 'rootonly', 'mbox')));
});
