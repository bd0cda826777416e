// New-mail notification end to end: the embedding API's `newmail` event, and
// control/newmailhook as a program and as a URL, through the real queue, worker pool and
// mailbox writers. A failing or hanging hook must not delay or fail the delivery.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NewMailEvent } from '../../ts/index.js';
import type { Log } from '../../ts/log/index.js';
import { createNotifier } from '../../ts/notify/index.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';
import { setupLocal } from './local-setup.js';

const MSG = 'From: a@far.example\nSubject: hi\n\nhello\n';

function recordingLog(): Log & { warnings: { o: object; msg?: string }[] } {
  const warnings: { o: object; msg?: string }[] = [];
  return { warnings, info() {}, error() {}, warn(o: object, msg?: string) { warnings.push({ o, msg }); } };
}

test('a maildir and an mbox delivery each fire newmail with user, recipient, maildir, file / mbox', async (t) => {
  const s = await setupLocal(t, ['joe']);
  s.dotQmail('joe', '.qmail', './Maildir/\n./mbox\n');
  const seen: NewMailEvent[] = [];
  s.mta.on('newmail', (e) => seen.push(e));
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  t.is(seen.length, 2);
  const [md, mb] = seen;
  t.like(md, { user: 'joe', recipient: 'joe@mx.example', sender: 'a@far.example' });
  t.is(md!.maildir, join(s.userHome('joe'), 'Maildir/'));
  t.regex(md!.file!, /\/Maildir\/new\/[^/]+$/);
  t.is(readFileSync(md!.file!, 'utf8'), `Return-Path: <a@far.example>\nDelivered-To: joe@mx.example\n${MSG}`);
  t.deepEqual(mb, { user: 'joe', recipient: 'joe@mx.example', sender: 'a@far.example', mbox: join(s.userHome('joe'), 'mbox') });
});

test('no newmail for a program-only or failed delivery', async (t) => {
  const s = await setupLocal(t, ['joe', 'bob']);
  s.dotQmail('joe', '.qmail', '|cat > /dev/null\n');
  s.dotQmail('bob', '.qmail', '|exit 100\n');
  const seen: NewMailEvent[] = [];
  s.mta.on('newmail', (e) => seen.push(e));
  await s.send('a@far.example', ['joe@mx.example', 'bob@mx.example'], MSG);
  t.deepEqual(seen, []);
  t.true(s.events.some((x) => x.kind === 'failed' && x.e.recipient === 'bob@mx.example'));
});

test('a program hook runs with the delivery environment and NEWMAIL_* variables', async (t) => {
  const out = join(tempDir(t), 'hook.env');
  const s = await setupLocal(t, ['joe'], { newmailhook: `env > '${out}'` });
  s.dotQmail('joe', '.qmail-ext', './Maildir/\n');
  await s.send('a@far.example', ['joe-ext@mx.example'], MSG);
  await until('the hook program\'s output', () => existsSync(out) && readFileSync(out, 'utf8').includes('NEWMAIL_FILE='));
  const env = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.like(env, {
    NEWMAIL_USER: 'joe', NEWMAIL_RECIPIENT: 'joe-ext@mx.example', NEWMAIL_SENDER: 'a@far.example',
    NEWMAIL_MAILDIR: join(s.userHome('joe'), 'Maildir/'), USER: 'joe', HOME: s.userHome('joe'),
    SENDER: 'a@far.example', RECIPIENT: 'joe-ext@mx.example', EXT: 'ext', LOCAL: 'joe-ext', HOST: 'mx.example',
  });
  t.true(existsSync(env.NEWMAIL_FILE!));
});

test('a URL hook is POSTed the event as JSON', async (t) => {
  const bodies: { url: string | undefined; type: string | undefined; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString(); });
    req.on('end', () => {
      bodies.push({ url: req.url, type: req.headers['content-type'], body: JSON.parse(text) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const s = await setupLocal(t, ['joe'], { newmailhook: `http://127.0.0.1:${port}/biff` });
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  await until('the hook request', () => bodies.length === 1);
  t.is(bodies[0]!.url, '/biff');
  t.is(bodies[0]!.type, 'application/json');
  t.like(bodies[0]!.body as object, { user: 'joe', recipient: 'joe@mx.example', sender: 'a@far.example', maildir: join(s.userHome('joe'), 'Maildir/') });
});

test('a hanging hook neither delays nor fails the delivery', async (t) => {
  const log = recordingLog();
  const pidFile = join(tempDir(t), 'hook.pid');
  // The hook hangs 30 s and is killed at the notifier's 10 s limit: the delivery must be
  // complete while it still runs (measured by the hook's life, not by the wall clock).
  const s = await setupLocal(t, ['joe'], { newmailhook: `echo $$ > '${pidFile}'; exec sleep 30` }, log);
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  t.true(s.events.some((x) => x.kind === 'delivered' && x.e.recipient === 'joe@mx.example'));
  t.is(s.maildir(join(s.userHome('joe'), 'Maildir')).length, 1);
  const pid = await until('the hook\'s pid', () => existsSync(pidFile) && /^(\d+)\n$/.exec(readFileSync(pidFile, 'utf8'))?.[1]);
  t.teardown(() => { try { process.kill(Number(pid)); } catch { /* already gone */ } });
  t.notThrows(() => process.kill(Number(pid), 0), 'the hook still runs after the delivery completed');
});

test('the notifier kills a hook past its time limit, and logs failures and unreachable URLs', async (t) => {
  const log = recordingLog();
  const home = tempDir(t);
  const notice = { user: 'joe', recipient: 'joe@x', sender: 's@y', home, env: { PATH: process.env.PATH ?? '/bin' }, writes: [{ kind: 'mbox' as const, mbox: '/tmp/m' }] };
  const url = `http://127.0.0.1:${await freePort()}/none`;
  // The sink returns before the hook ends: no outcome (its time-out warning) is known yet.
  t.is(createNotifier({ hook: () => 'sleep 30', log, timeoutMs: 300 })(notice), undefined);
  t.deepEqual(log.warnings, [], 'the sink returns at once, before the hook ends');
  createNotifier({ hook: () => 'echo broken >&2; exit 3', log, timeoutMs: 5000 })(notice);
  createNotifier({ hook: () => url, log, timeoutMs: 5000 })(notice);
  await until('three warnings', () => log.warnings.length === 3);
  const reasons = log.warnings.map((w) => (w.o as { reason: string }).reason).sort();
  t.regex(reasons.find((r) => r.startsWith('exit'))!, /^exit 3: broken$/);
  t.truthy(reasons.find((r) => /^timed out after 300 ms/.test(r)));
  t.truthy(reasons.find((r) => /ECONNREFUSED/.test(r)));
});

test('a listener that throws is logged, the delivery still succeeds', async (t) => {
  const log = recordingLog();
  const s = await setupLocal(t, ['joe'], {}, log);
  s.mta.on('newmail', () => { throw new Error('listener bug'); });
  await s.send('a@far.example', ['joe@mx.example'], MSG);
  t.true(s.events.some((x) => x.kind === 'delivered' && x.e.recipient === 'joe@mx.example'));
  t.true(log.warnings.some((w) => w.msg === 'newmail listener threw'));
});
