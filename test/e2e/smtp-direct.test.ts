// Delivery at accept time through a running `qmta start`, with Python's smtplib as the
// client: a local maildir recipient is in new/ when the 250 arrives and never queued
// (concurrencylocal 0 holds every queued delivery, so only the direct path can deliver);
// qmail-send's log lines and the new-mail hook tell the same story as for a queued
// message, also for each transaction of one session; control/directmaildir 0 restores the
// queue-first path; a mixed local + remote + program message has each recipient delivered
// once; the loop check refuses at DATA;
// control/directsync picks syncfs (default) or qmail-local's fsyncs, seen with strace;
// the core answers a recipient's RCPT again itself (counted in /metrics) while the files
// its plan was read from are unchanged (its new-mail notice dated at its own delivery), and a
// new .qmail is obeyed at the next message;
// and the faults: a read-only maildir and a full disk fall back to the queue, a full queue
// too gives 451, and no partial file ever appears in new/.

import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { needCommand } from '../helpers/debian.js';
import { freePorts } from '../helpers/net.js';
import { parsePrometheus } from '../helpers/prom.js';
import { until } from '../helpers/wait.js';
import { smtpPeer } from './remote-peers.js';

interface Daemon {
  readonly home: string;
  readonly port: number;
  readonly child: ChildProcess;
  log(): Record<string, unknown>[];
}

/** A home with users joe and ann, `control` files written, then `qmta start` on it. */
async function daemon(t: ExecutionContext, control: Record<string, string> = {}, home = join(tempDir(t), 'h')): Promise<Daemon> {
  const [port] = await freePorts(1);
  mkdirSync(join(home, 'control'), { recursive: true });
  const files = { smtplisten: `127.0.0.1:${port}`, submissionlisten: '127.0.0.1:0', pop3listen: '127.0.0.1:0', me: 'mx.test', locals: 'localhost', ...control };
  for (const [f, v] of Object.entries(files)) writeFileSync(join(home, 'control', f), `${v}\n`);
  for (const u of ['joe', 'ann']) t.is((await runQmta(['--home', home, 'user', 'add', u])).code, 0);
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const log = () => {
    try {
      return readFileSync(join(home, 'log', 'qmta.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  };
  await until('qmta listening', () => {
    if (child.exitCode !== null) throw new Error(`qmta start exited ${child.exitCode}: ${stderr}`);
    return log().some((r) => r.msg === 'smtpd listening');
  }, 60_000);
  return { home, port: port!, child, log };
}

/** Sends with smtplib; prints the 250's reply text, then the names in each maildir's new/ as
 *  listed the instant sendmail() returned (before anything else can happen). */
const SEND = `
import json, os, smtplib, sys
port, sender, rcpts, maildirs, message = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
with smtplib.SMTP('127.0.0.1', port) as s:
    s.ehlo()
    s.mail(sender)
    for r in rcpts:
        code, text = s.rcpt(r)
        assert code == 250, (r, code, text)
    code, text = s.data(message)
    seen = {m: sorted(os.listdir(os.path.join(m, 'new'))) for m in maildirs}
print(json.dumps({'code': code, 'text': text.decode(), 'seen': seen}))
`;

interface Sent {
  readonly code: number;
  readonly text: string;
  readonly seen: Record<string, string[]>;
}

function send(d: Daemon, rcpts: string[], message: string, maildirs: string[] = []): Sent {
  const r = spawnSync('python3', ['-c', SEND, String(d.port), 'a@far.example', JSON.stringify(rcpts), JSON.stringify(maildirs), message],
    { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`smtplib: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sent;
}

const maildir = (d: Daemon, user: string) => join(d.home, 'mail', user, 'Maildir');
const files = (dir: string) => (existsSync(join(dir, 'new')) ? readdirSync(join(dir, 'new')) : []);
const queued = async (d: Daemon) => (await runQmta(['--home', d.home, 'queue', 'stat'])).stdout;

/** Started as root, qmta runs as its own account (issue 15): files it or its users' programs
 *  write go where that account may write, e.g. under the home it owns. */
function owned(d: Daemon, ...paths: string[]): void {
  const { uid, gid } = statSync(d.home);
  for (const p of paths) chownSync(p, uid, gid);
}

test('a maildir recipient is in new/ when the 250 arrives, never queued; the log and the new-mail hook tell the same story', async (t) => {
  const home = join(tempDir(t), 'h');
  const hook = join(home, 'newmail');
  const d = await daemon(t, { concurrencylocal: '0', newmailhook: `env > '${hook}'` }, home);
  const r = send(d, ['joe@localhost'], 'Subject: direct\n\nhello\n', [maildir(d, 'joe')]);
  t.is(r.code, 250);
  const id = /^2\.0\.0 ok (\d+)$/.exec(r.text)?.[1];
  t.truthy(id, r.text);
  t.is(r.seen[maildir(d, 'joe')]!.length, 1, 'delivered before the 250 reached the client');
  const text = readFileSync(join(maildir(d, 'joe'), 'new', files(maildir(d, 'joe'))[0]!), 'utf8');
  t.regex(text, /^Return-Path: <a@far\.example>\nDelivered-To: joe@localhost\nReceived: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n {2}by mx\.test \(qmta\) with ESMTP; .*\nSubject: direct\n\nhello\n$/);
  t.regex(await queued(d), /messages in queue: 0\b/);
  await until('the new-mail hook', () => existsSync(hook) && readFileSync(hook, 'utf8').includes('NEWMAIL_FILE='), 15_000);
  t.true(readFileSync(hook, 'utf8').includes('NEWMAIL_RECIPIENT=joe@localhost'));
  const story = await until('the log lines', () => {
    const mine = d.log().filter((l) => l.id === id || (typeof l.delivery === 'number' && l.result !== undefined));
    return mine.some((l) => l.event === 'end msg') && mine;
  });
  t.deepEqual(story.map((l) => l.msg), [
    `new msg ${id}`, `info msg ${id}: bytes ${Number(story[1]!.bytes)} from <a@far.example>`,
    `starting delivery 1: msg ${id} to local joe@localhost`, 'delivery 1: success: did 1+0+0', `end msg ${id}`,
    ...story.slice(5).map((l) => l.msg),
  ]);
});

/** One smtplib session, three transactions: joe's, abandoned by RSET; joe's; ann's. */
const SESSION = `
import smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
    s.ehlo()
    for to, send in (('joe@localhost', False), ('joe@localhost', True), ('ann@localhost', True)):
        assert s.mail('a@far.example')[0] == 250
        assert s.rcpt(to)[0] == 250
        if send:
            assert s.data('Subject: to ' + to + '\\n\\nhi\\n')[0] == 250
        else:
            assert s.rset()[0] == 250
`;

test('transactions of one session, their MAIL answered by the core (a relay client): each message is recorded for its own recipient', async (t) => {
  const d = await daemon(t, { concurrencylocal: '0' });
  const r = spawnSync('python3', ['-c', SESSION, String(d.port)], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.is(files(maildir(d, 'joe')).length, 1);
  t.is(files(maildir(d, 'ann')).length, 1);
  const starts = await until('both deliveries logged', () => {
    const s = d.log().filter((l) => l.event === 'starting delivery').map((l) => l.recipient);
    return s.length >= 2 && s;
  });
  t.deepEqual(starts, ['joe@localhost', 'ann@localhost']);
  t.is(d.log().filter((l) => l.msg === 'smtp message accepted').length, 2);
});

test('the core answers a recipient again itself while its .qmail files are unchanged; a new .qmail is obeyed at once', async (t) => {
  const [metrics] = await freePorts(1);
  const root = join(tempDir(t), 'h');
  const hook = join(root, 'newmail');
  const d = await daemon(t, { concurrencylocal: '0', metricslisten: `127.0.0.1:${metrics}`, newmailhook: `env > '${hook}'` }, root);
  const [home, md] = [join(d.home, 'mail', 'joe'), maildir(d, 'joe')];
  const reused = async () => {
    const text = await until('/metrics', () => fetch(`http://127.0.0.1:${metrics}/metrics`).then(async (r) => (r.ok ? r.text() : ''), () => ''));
    return parsePrometheus(text).find(([n]) => n === 'qmta_smtp_rcpt_reused_total')?.[2];
  };
  // A plan read from a file changed in the last 100 ms is not reused (ts/local/dot-qmail-fs.ts).
  await until('joe\'s home settled', () => Date.now() - statSync(home).ctimeMs > 200, 10_000);
  t.is(await reused(), 0);
  for (const n of [1, 2]) t.is(send(d, ['joe@localhost'], `Subject: ${n}\n\nhello\n`, [md]).code, 250);
  // The third a whole second later: its notice's From_ line must carry its own time.
  await new Promise((r) => setTimeout(r, 1_100));
  const third = Math.floor(Date.now() / 1000) * 1000;
  const r3 = send(d, ['joe@localhost'], 'Subject: 3\n\nhello\n', [md]);
  t.is(r3.code, 250);
  t.is(await reused(), 2, 'the first RCPT was asked of the policy side, the next two were not');
  const mtime = (f: string) => statSync(join(md, 'new', f)).mtimeMs;
  const newest = r3.seen[md]!.reduce((a, b) => (mtime(a) >= mtime(b) ? a : b));
  const env = await until('the third notice', () => {
    const text = existsSync(hook) ? readFileSync(hook, 'utf8') : '';
    return text.includes(`NEWMAIL_FILE=${join(md, 'new', newest)}`) && text;
  });
  // UFLINE's date is ctime(3)'s, in UTC.
  const dated = Date.parse(`${/^UFLINE=From a@far\.example (.*)$/m.exec(env)?.[1] ?? ''} UTC`);
  t.true(dated >= third, `the From_ line is dated at its delivery, not at the first plan: ${new Date(dated).toISOString()}`);
  for (const f of files(md)) t.regex(readFileSync(join(md, 'new', f), 'utf8'), /^Return-Path: <a@far\.example>\nDelivered-To: joe@localhost\nReceived: /);
  await until('three deliveries logged as qmail-send logs them', () =>
    d.log().filter((l) => typeof l.msg === 'string' && /^delivery \d+: success: did 1\+0\+0$/.test(l.msg)).length === 3);
  t.is(d.log().filter((l) => l.event === 'starting delivery' && l.recipient === 'joe@localhost').length, 3);

  const out = join(home, 'prog-out');
  writeFileSync(join(home, '.qmail'), `|cat > '${out}'\n`);
  const r = send(d, ['joe@localhost'], 'Subject: 4\n\nto the program\n', [md]);
  t.is(r.code, 250);
  t.is(r.seen[md]!.length, 3, 'not written into the maildir: the new .qmail was read');
  t.regex(await queued(d), /messages in queue: 1\b/);
  t.is(await reused(), 2);
});

/** The fsync(2) and syncfs(2) calls qmta makes while `work` runs, seen by strace attached
 *  to every thread. */
async function syncCalls(d: Daemon, work: () => void): Promise<string[]> {
  const strace = needCommand('strace', 'strace');
  const pid = d.child.pid!;
  const tracer = spawn(strace, ['-f', '-qq', '-e', 'trace=fsync,syncfs', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  tracer.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const threads = readdirSync(`/proc/${pid}/task`).length;
  // strace -qq says nothing on attaching; a thread is attached once its status names a tracer.
  await until('strace attached to every thread', () => readdirSync(`/proc/${pid}/task`)
    .filter((tid) => /TracerPid:\s+[1-9]/.test(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))).length >= threads, 30_000);
  work();
  tracer.kill('SIGINT');
  await new Promise((r) => tracer.once('close', r));
  return out.split('\n').map((l) => /\b(fsync|syncfs)\(/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
}

test('control/directsync: the filesystem is synced once per step by default; fsync syncs each file and new/ as qmail-local', async (t) => {
  for (const [mode, expected] of [['syncfs', ['syncfs', 'syncfs']], ['fsync', ['fsync', 'fsync']]] as const) {
    const d = await daemon(t, { concurrencylocal: '0', directsync: mode });
    let r: Sent | undefined;
    const calls = await syncCalls(d, () => { r = send(d, ['joe@localhost'], 'Subject: sync\n\nhello\n', [maildir(d, 'joe')]); });
    t.is(r?.code, 250, mode);
    t.is(r?.seen[maildir(d, 'joe')]!.length, 1, `${mode}: delivered before the 250`);
    t.deepEqual(calls, expected, `${mode}: the file, then new/`);
    d.child.kill('SIGKILL');
  }
});

test('control/directmaildir 0 keeps qmail\'s queue-first path (concurrencylocal 0 holds it in the queue)', async (t) => {
  const d = await daemon(t, { concurrencylocal: '0', directmaildir: '0' });
  const r = send(d, ['joe@localhost'], 'Subject: queued\n\nhello\n', [maildir(d, 'joe')]);
  t.is(r.code, 250);
  t.deepEqual(r.seen[maildir(d, 'joe')], []);
  t.regex(await queued(d), /messages in queue: 1\b/);
  t.deepEqual(files(maildir(d, 'joe')), []);
});

test('a mixed local, remote and program message: the local recipient before the 250, each recipient exactly once', async (t) => {
  const peer = await smtpPeer(t);
  const d = await daemon(t, { smtproutes: `:127.0.0.1:${peer.port}` });
  const out = join(d.home, 'mail', 'ann', 'prog-out');
  writeFileSync(join(d.home, 'mail', 'ann', '.qmail-prog'), `|cat > '${out}'\n`);
  const r = send(d, ['joe@localhost', 'far@remote.example', 'ann-prog@localhost'], 'Subject: mixed\n\nthree ways\n', [maildir(d, 'joe')]);
  t.is(r.code, 250);
  t.is(r.seen[maildir(d, 'joe')]!.length, 1);
  await until('the remote copy', () => peer.received.length === 1, 30_000);
  await until('the program\'s copy', () => existsSync(out) && readFileSync(out, 'utf8').includes('three ways'), 30_000);
  t.deepEqual(peer.received[0]!.to, ['far@remote.example']);
  // A program gets the message as queued (qmail: preline adds Return-Path and Delivered-To).
  t.regex(readFileSync(out, 'utf8'), /^Received: from unknown .*\n {2}by mx\.test \(qmta\) with ESMTP; .*\nSubject: mixed\n\nthree ways\n$/);
  await until('an empty queue', async () => /messages in queue: 0\b/.test(await queued(d)), 30_000);
  t.is(files(maildir(d, 'joe')).length, 1);
  t.is(peer.received.length, 1);
});

test('a message already carrying the recipient\'s Delivered-To line is refused at DATA (554 5.4.6), nothing delivered', async (t) => {
  const d = await daemon(t);
  const r = spawnSync('python3', ['-c', `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo(); s.mail('a@far.example'); s.rcpt('joe@localhost')
print(s.data('Delivered-To: joe@localhost\\nSubject: loop\\n\\nagain\\n'))
`, String(d.port)], { encoding: 'utf8' });
  t.regex(r.stdout, /^\(554, b'5\.4\.6 This message is looping: it already has my Delivered-To line\.'\)/);
  t.deepEqual(files(maildir(d, 'joe')), []);
  t.regex(await queued(d), /messages in queue: 0\b/);
});

/** `mount ARGS TARGET`; the teardown unmounts. These tests need root, as CI runs them. */
function mount(t: ExecutionContext, args: string[], target: string): void {
  execFileSync('mount', [...args, target]);
  t.teardown(() => { try { execFileSync('umount', ['-l', target]); } catch { /* already gone */ } });
}

test('a read-only maildir falls back to the queue: 250, delivered once it is writable, never a partial file', async (t) => {
  const d = await daemon(t);
  const md = maildir(d, 'joe');
  mount(t, ['--bind', md], md);
  execFileSync('mount', ['-o', 'remount,ro,bind', md]);
  const r = send(d, ['joe@localhost', 'ann@localhost'], 'Subject: ro\n\nread-only\n', [md, maildir(d, 'ann')]);
  t.is(r.code, 250);
  t.deepEqual(r.seen[md], []);
  t.is(r.seen[maildir(d, 'ann')]!.length, 1, 'the writable maildir is written at once');
  await until('the fallback warning', () => d.log().some((l) => String(l.msg).startsWith('direct delivery to joe@localhost failed, queued:')));
  await until('a deferral', () => d.log().some((l) => l.event === 'delivery' && l.result === 'deferral'), 30_000);
  t.deepEqual(readdirSync(join(md, 'new')), []);
  execFileSync('mount', ['-o', 'remount,rw,bind', md]);
  d.child.kill('SIGALRM');
  await until('joe\'s copy', () => files(md).length === 1, 30_000);
  t.true(readFileSync(join(md, 'new', files(md)[0]!), 'utf8').endsWith('read-only\n'));
  t.is(files(maildir(d, 'ann')).length, 1, 'ann was not delivered twice');
});

test('a full disk: the maildir\'s falls back to the queue; with the queue full too the reply is 451 4.3.0, nothing half-written', async (t) => {
  // The whole home on a 2 MB tmpfs, filled once the daemon runs; joe's maildir on its own 64 KB one.
  const home = join(tempDir(t), 'h');
  mkdirSync(home);
  mount(t, ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs'], home);
  const d = await daemon(t, {}, home);
  const md = maildir(d, 'joe');
  mount(t, ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs'], md);
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(md, sub));
  owned(d, md, ...['tmp', 'new', 'cur'].map((sub) => join(md, sub)));
  writeFileSync(join(md, 'filler'), Buffer.alloc(60 * 1024));
  const body = `Subject: big\n\n${`${'x'.repeat(79)}\n`.repeat(100)}`;
  const r = send(d, ['joe@localhost'], body, [md]);
  t.is(r.code, 250, 'the queue took what the full maildir could not');
  t.deepEqual(r.seen[md], []);
  t.deepEqual(readdirSync(join(md, 'tmp')), [], 'the failed write left nothing in tmp/');
  await until('the fallback warning', () => d.log().some((l) => String(l.msg).startsWith('direct delivery to joe@localhost failed, queued:') && String(l.msg).includes('#4.3.1')));

  const free = Number(execFileSync('df', ['--output=avail', '-B1', home], { encoding: 'utf8' }).split('\n')[1]);
  writeFileSync(join(home, 'filler'), Buffer.alloc(Math.max(0, free - 1024)));
  const annMd = maildir(d, 'ann');
  const code = spawnSync('python3', ['-c', `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo(); s.mail('a@far.example'); s.rcpt('ann@localhost'); s.rcpt('joe@localhost')
print(s.data(sys.argv[2]))
`, String(d.port), body], { encoding: 'utf8' });
  t.regex(code.stdout, /^\(451, b'4\.3\.0 /, code.stderr);
  t.deepEqual(files(annMd), [], 'no partial file in new/');
  t.deepEqual(readdirSync(join(annMd, 'tmp')), []);
});
