// The sendmail and mailq commands as real programs call them, run as processes against a
// temporary home ($QMTA_HOME); the queue is checked through the queue API.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { openQueue } from '../../ts/queue/index.js';
import { runNode } from './inject-process.js';

const SENDMAIL = new URL('../../ts/cli/sendmail.js', import.meta.url).pathname;
const MAILQ = new URL('../../ts/cli/mailq.js', import.meta.url).pathname;

function home(t: ExecutionContext): string {
  const h = tempDir(t);
  mkdirSync(join(h, 'control'));
  for (const [k, v] of Object.entries({ me: 'box.example.org', defaultdomain: 'example.org', idhost: 'box.example.org' })) {
    writeFileSync(join(h, 'control', k), `${v}\n`);
  }
  return h;
}

function sendmail(h: string, args: readonly string[], input: string, env: Record<string, string> = {}) {
  return runNode(SENDMAIL, args, input, { QMTA_HOME: h, ...env });
}

function queued(h: string) {
  const q = openQueue(join(h, 'queue'));
  if (q.kind !== 'ok') throw new Error(q.text);
  return q.value.listTodo().map((id) => {
    const e = q.value.readTodo(id);
    if (e.kind !== 'ok') throw new Error(e.text);
    return { id, sender: e.value.sender, recipients: e.value.recipients, body: readFileSync(q.value.bodyPath(id), 'utf8') };
  });
}

test('cron (Debian): sendmail -FCronDaemon -i -B8BITMIME -oem root', async (t) => {
  const h = home(t);
  const msg = 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@box> run-parts /etc/cron.daily\n' +
    'Content-Type: text/plain; charset=UTF-8\nX-Cron-Env: <SHELL=/bin/sh>\n\nrun-parts: done\n';
  const r = await sendmail(h, ['-FCronDaemon', '-i', '-B8BITMIME', '-oem', 'root'], msg, { LOGNAME: 'root' });
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'root@box.example.org');
  t.deepEqual(m?.recipients, ['root@box.example.org']);
  t.true(m?.body.includes('From: root@box.example.org (Cron Daemon)\nTo: root@box.example.org\n'));
});

test('cron (vixie, cronie): sendmail -FCronDaemon -odi -oem -oi -t', async (t) => {
  const h = home(t);
  const r = await sendmail(h, ['-FCronDaemon', '-odi', '-oem', '-oi', '-t'], 'To: admin@example.net\nSubject: Cron <u@box> job\n\nout\n', { USER: 'u' });
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.deepEqual(m?.recipients, ['admin@example.net']);
  t.is(m?.sender, 'u@box.example.org');
  t.true(m?.body.includes('From: "CronDaemon" <u@box.example.org>\n'));
});

test('git send-email: sendmail -i -f <from> <recipients...>, header recipients ignored', async (t) => {
  const h = home(t);
  const patch = 'From: Dev One <dev@example.com>\nTo: maint@example.org\nCc: list@lists.example.org\n' +
    'Subject: [PATCH] fix\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <20261124.1@example.com>\n\n---\n a | 1 +\n';
  const r = await sendmail(h, ['-i', '-f', 'dev@example.com', 'maint@example.org', 'list@lists.example.org'], patch);
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'dev@example.com');
  t.deepEqual(m?.recipients, ['maint@example.org', 'list@lists.example.org']);
  t.true(m?.body.startsWith('From: Dev One <dev@example.com>\nTo: maint@example.org\n'));
  t.true(m?.body.includes('Message-ID: <20261124.1@example.com>\n'));
});

test("PHP mail(): sendmail -t -i, with and without -f additional parameters", async (t) => {
  const h = home(t);
  // PHP writes To and Subject first, then the script's extra headers, then a blank line.
  const php = 'To: customer@example.com\nSubject: Your order\nFrom: shop@example.org\nX-Mailer: PHP/8.2\n\nThanks!\n';
  t.is((await sendmail(h, ['-t', '-i'], php, { USER: 'www-data' })).code, 0);
  t.is((await sendmail(h, ['-t', '-i', '-f', 'bounce@example.org'], php, { USER: 'www-data' })).code, 0);
  const ms = queued(h).sort((a, b) => a.sender.localeCompare(b.sender));
  t.deepEqual(ms.map((m) => m.sender), ['bounce@example.org', 'www-data@box.example.org']);
  for (const m of ms) {
    t.deepEqual(m.recipients, ['customer@example.com']);
    t.true(m.body.includes('From: shop@example.org\n'));
  }
});

test('-f sets the default From; -t keeps header recipients and arguments (qmail -H)', async (t) => {
  const h = home(t);
  const r = await sendmail(h, ['-t', '-f', 'alerts@mon.example.org', '-F', 'Monitor', 'oncall@example.net'], 'To: ops@example.net\nSubject: down\n\nhost down\n');
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'alerts@mon.example.org');
  t.deepEqual(m?.recipients, ['oncall@example.net', 'ops@example.net']);
  t.true(m?.body.includes('From: "Monitor" <alerts@mon.example.org>\n'));
});

test('mailq and sendmail -bp list the queue in qmail-qread format', async (t) => {
  const h = home(t);
  t.is((await sendmail(h, ['-f', 'a@example.org', 'x@remote.example', 'y@box.example.org'], 'Subject: one\n\nbody\n')).code, 0);
  const q = openQueue(join(h, 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const [id] = q.value.listTodo();
  if (id === undefined) return t.fail('nothing queued');
  t.is((await q.value.preprocess(id, { local: ['y@box.example.org'], remote: ['x@remote.example'] })).kind, 'ok');
  // A deferral writes the preprocessing to disk, where another process (mailq) sees it.
  t.is((await q.value.setNextAttempt(id, 'remote', Date.now() + 60_000)).kind, 'ok');
  const size = q.value.info(id);
  if (size.kind !== 'ok') return t.fail(size.text);
  const listing = await runNode(MAILQ, [], '', { QMTA_HOME: h });
  t.is(listing.code, 0, listing.stderr);
  t.regex(listing.stdout, new RegExp(`^\\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT  #${id}  ${size.value.size}  <a@example\\.org> \n` +
    '\tlocal\ty@box\\.example\\.org\n\tremote\tx@remote\\.example\n$'));
  const bp = await sendmail(h, ['-bp'], '');
  t.is(bp.stdout, listing.stdout);
});

test('exit codes: usage 100, other -b modes 100, newaliases 100, -q without a running qmta 111', async (t) => {
  const h = home(t);
  const usage = await sendmail(h, ['-Z'], '');
  t.is(usage.code, 100);
  t.regex(usage.stderr, /usage: sendmail/);
  t.is((await sendmail(h, ['-bd'], '')).code, 100);
  t.is((await sendmail(h, ['-t'], 'Subject: no recipients\n\nx\n')).code, 100);
  const q = await sendmail(h, ['-q'], '');
  t.is(q.code, 111);
  t.regex(q.stderr, /no qmta is running/);
  const dir = tempDir(t);
  symlinkSync(SENDMAIL, join(dir, 'newaliases'));
  const na = await runNode(join(dir, 'newaliases'), [], '', { QMTA_HOME: h });
  t.is(na.code, 100);
  t.regex(na.stderr, /aliases are \.qmail files/);
  t.is(queued(h).length, 0);
});

test('-q signals the running qmta with SIGALRM (run the queue now)', async (t) => {
  const h = home(t);
  const fake = spawn(process.execPath, ['-e', "process.on('SIGALRM', () => { process.stdout.write('alarm'); process.exit(0); }); setInterval(() => {}, 1000); process.stdout.write('ready');"]);
  t.teardown(() => fake.kill());
  const closed = new Promise<void>((resolve) => fake.on('close', () => resolve()));
  const got: Buffer[] = [];
  await new Promise<void>((resolve) => fake.stdout.on('data', (c: Buffer) => { got.push(c); if (Buffer.concat(got).toString().includes('ready')) resolve(); }));
  writeFileSync(join(h, 'qmta.pid'), `${fake.pid}\n`);
  const r = await sendmail(h, ['-q'], '');
  t.is(r.code, 0, r.stderr);
  await closed;
  t.true(Buffer.concat(got).toString().includes('alarm'));
});

test('-bs speaks SMTP on stdin/stdout and queues through the SMTP service', async (t) => {
  const h = home(t);
  const session = 'EHLO client.example\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<far@remote.example>\r\nDATA\r\n' +
    'Subject: via -bs\r\n\r\nhello\r\n.\r\nQUIT\r\n';
  const r = await sendmail(h, ['-bs'], session);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^220 box\.example\.org ESMTP/);
  t.regex(r.stdout, /\r\n250 2\.0\.0 ok \S+\r\n221 /);
  const [m] = queued(h);
  t.is(m?.sender, 'app@example.org');
  t.deepEqual(m?.recipients, ['far@remote.example']);
  t.true(m?.body.endsWith('Subject: via -bs\n\nhello\n'));
});
