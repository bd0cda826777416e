// The passive queue of a dial-up domain (serialmail's role) end to end: mail for the
// domain lands in a maildir through ordinary local delivery (virtualdomains + an alias
// .qmail-default), then `qmta flush DOMAIN HOST:PORT` sends it to an smtp-server peer on
// loopback, removing each message only after the peer's 250 for it.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flushDomain, passiveQueue } from '../../ts/flush/index.js';
import { parseEnvelope } from '../../ts/flush/envelope.js';
import { lockMaildir } from '../../ts/flush/lock.js';
import { parseTarget } from '../../ts/flush/target.js';
import { ensureHome } from '../../ts/home/index.js';
import { createMta } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { smtpPeer } from './remote-peers.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const msg = (n: string) => `From: a@far.example\nSubject: ${n}\n\n.dot line ${n}\nbody\n`;

interface Site {
  readonly home: string;
  readonly maildir: string;
  files(): string[];
}

/** A home whose dialup.example mail goes to alias/dialup/Maildir/, with messages for `users` in it. */
async function site(t: ExecutionContext, users: string[]): Promise<Site> {
  const home = join(tempDir(t), 'home');
  const made = await ensureHome(home);
  if (made.kind !== 'ok') throw new Error(made.text);
  writeFileSync(join(home, 'control', 'me'), 'mx.example\n');
  writeFileSync(join(home, 'control', 'locals'), 'mx.example\n');
  writeFileSync(join(home, 'control', 'virtualdomains'), 'dialup.example:dialup\n');
  // A bound for a hung peer well inside ava's, not a test of the peer's speed: the peer
  // answers from this test process, which on a loaded machine may not get to it within 5 s.
  writeFileSync(join(home, 'control', 'timeoutremote'), '60\n');
  writeFileSync(join(home, 'alias', '.qmail-dialup-default'), './dialup/Maildir/\n');
  // As qmail: a maildir line needs an existing maildir (maildirmake).
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(home, 'alias', 'dialup', 'Maildir', d), { recursive: true });
  const mta = await createMta({ home, log: false });
  await mta.start();
  for (const u of users) await mta.inject({ from: 'a@far.example', to: [`${u}@dialup.example`], message: Buffer.from(msg(u)) });
  await mta.idle(); // each commit reached the scheduler before inject() resolved
  await mta.stop(2000);
  const maildir = join(home, 'alias', 'dialup', 'Maildir');
  return { home, maildir, files: () => ['new', 'cur'].flatMap((d) => readdirSync(join(maildir, d)).map((f) => join(maildir, d, f))) };
}

function qmta(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    c.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const recipientOf = (file: string) => /^Delivered-To: (\S+)$/m.exec(readFileSync(file, 'utf8'))![1];

test('passive-domain mail lands in the maildir with the Delivered-To line maildirsmtp reads', async (t) => {
  const s = await site(t, ['joe', 'ann']);
  const files = s.files();
  t.is(files.length, 2);
  t.deepEqual(files.map(recipientOf).sort(), ['dialup-ann@dialup.example', 'dialup-joe@dialup.example']);
  t.regex(readFileSync(files[0]!, 'utf8'), /^Return-Path: <a@far\.example>\nDelivered-To: dialup-\w+@dialup\.example\nFrom: a@far\.example\n/);
});

test('qmta flush sends every message to its original recipient and removes each after its 250; exit 0', async (t) => {
  const s = await site(t, ['joe', 'ann', 'bob']);
  const peer = await smtpPeer(t);
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${peer.port}`]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(peer.received.map((m) => m.to[0]).sort(), ['ann@dialup.example', 'bob@dialup.example', 'joe@dialup.example']);
  for (const m of peer.received) {
    t.is(m.from, 'a@far.example');
    const who = m.to[0]!.split('@')[0]!;
    t.is(m.data.toString(), msg(who).replace(/\n/g, '\r\n'), 'the message without Return-Path / Delivered-To, CR LF, unstuffed by the peer');
  }
  t.deepEqual(s.files(), []);
  t.is(r.stdout.trim().split('\n').length, 3);
  t.regex(r.stdout, /: joe@dialup\.example: .*accepted message/);
  t.false(existsSync(join(s.maildir, 'flush.lock')));
});

test('a 4xx leaves that message in place and exits 111; the next flush sends it', async (t) => {
  const s = await site(t, ['joe', 'bob']);
  const busy = await smtpPeer(t, { rcpt: { 'bob@dialup.example': { code: 451, message: 'try later' } } });
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${busy.port}`]);
  t.is(r.code, 111);
  t.deepEqual(busy.received.map((m) => m.to[0]), ['joe@dialup.example']);
  t.deepEqual(s.files().map(recipientOf), ['dialup-bob@dialup.example']);
  t.regex(r.stderr, /bob@dialup\.example: .*451 try later/);
  const good = await smtpPeer(t);
  const again = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${good.port}`]);
  t.is(again.code, 0);
  t.deepEqual(good.received.map((m) => m.to[0]), ['bob@dialup.example']);
  t.deepEqual(s.files(), []);
});

test('a 4xx after the final dot also leaves the message (removed only after 250)', async (t) => {
  const s = await site(t, ['joe']);
  const peer = await smtpPeer(t, { data: { code: 452, message: 'disk full' } });
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${peer.port}`]);
  t.is(r.code, 111);
  t.is(peer.received.length, 1, 'the peer saw the message but did not accept it');
  t.is(s.files().length, 1);
});

test('a 5xx leaves the message in place for the administrator (maildirsmtp: no bounce) and exits 100', async (t) => {
  const s = await site(t, ['joe', 'ann']);
  const peer = await smtpPeer(t, { rcpt: { 'ann@dialup.example': { code: 550, message: 'no such user' } } });
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${peer.port}`]);
  t.is(r.code, 100);
  t.deepEqual(s.files().map(recipientOf), ['dialup-ann@dialup.example']);
  t.regex(r.stderr, /ann@dialup\.example: .*550 no such user .*\(#5\./);
});

test('an unreachable peer leaves everything and exits 111 after one connection failure', async (t) => {
  const s = await site(t, ['joe', 'ann', 'bob']);
  const port = await freePort();
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${port}`]);
  t.is(r.code, 111);
  t.is(s.files().length, 3);
  t.regex(r.stderr, /2 messages not tried/);
});

test('messages that are not for the passive queue are left and reported (exit 100)', async (t) => {
  const s = await site(t, ['joe']);
  writeFileSync(join(s.maildir, 'new', '1.stray.host'), 'Subject: no envelope lines\n\nx\n');
  writeFileSync(join(s.maildir, 'new', '2.other.host'), 'Return-Path: <a@b>\nDelivered-To: someone@else.example\n\nx\n');
  const peer = await smtpPeer(t);
  const r = await qmta(['--home', s.home, 'flush', 'dialup.example', `127.0.0.1:${peer.port}`]);
  t.is(r.code, 100);
  t.deepEqual(peer.received.map((m) => m.to[0]), ['joe@dialup.example']);
  t.deepEqual(s.files().map((f) => f.split('/').pop()).sort(), ['1.stray.host', '2.other.host']);
  t.regex(r.stderr, /does not start with Return-Path and Delivered-To/);
  t.regex(r.stderr, /Delivered-To someone@else\.example does not start with dialup-/);
});

test('flushDomain: --maildir/--prefix override, unknown domain, empty queue, bad target', async (t) => {
  const s = await site(t, ['joe']);
  const peer = await smtpPeer(t);
  t.like(await passiveQueue(s.home, 'DialUp.Example'), { kind: 'ok', value: { domain: 'dialup.example', prefix: 'dialup-', maildir: s.maildir, waiting: 1 } });
  const unknown = await flushDomain(s.home, 'other.example', `127.0.0.1:${peer.port}`);
  t.like(unknown, { kind: 'perm', status: '5.1.2' });
  t.is((await qmta(['--home', s.home, 'flush', 'other.example', `127.0.0.1:${peer.port}`])).code, 100);
  t.like(await flushDomain(s.home, 'dialup.example', 'host:99999'), { kind: 'perm', status: '5.3.5' });
  const empty = join(tempDir(t), 'none');
  t.like(await flushDomain(s.home, 'x.example', `127.0.0.1:${peer.port}`, { maildir: empty, prefix: 'x-' }), { kind: 'ok', value: { sent: 0 } });
  const r = await flushDomain(s.home, 'x.example', { host: '127.0.0.1', port: peer.port }, { maildir: s.maildir, prefix: 'dialup-' });
  t.like(r, { kind: 'ok', value: { sent: 1, temp: 0, perm: 0 } });
});

test('one flush at a time per maildir; a dead flusher\'s lock is taken over', (t) => {
  const dir = tempDir(t);
  const first = lockMaildir(dir);
  t.is(first.kind, 'ok');
  t.like(lockMaildir(dir), { kind: 'temp', status: '4.3.0' });
  if (first.kind === 'ok') first.value();
  t.is(lockMaildir(dir).kind, 'ok', 'free again after unlock');
  const stale = tempDir(t);
  mkdirSync(join(stale, 'x'));
  writeFileSync(join(stale, 'flush.lock'), '999999999\n');
  t.is(lockMaildir(stale).kind, 'ok');
});

test('targets and envelopes: bad input is refused with a clear reason', (t) => {
  t.like(parseTarget('127.0.0.1:2525'), { kind: 'ok', value: { host: '127.0.0.1', port: 2525 } });
  t.like(parseTarget('[::1]:26'), { kind: 'ok', value: { host: '::1', port: 26 } });
  t.like(parseTarget('mx.example'), { kind: 'ok', value: { host: 'mx.example', port: 25 } });
  for (const bad of ['', ':25', 'h:0', 'h:65536', 'h:x', '[nothex]:25', 'a b:25', 'h'.repeat(300)]) {
    t.like(parseTarget(bad), { kind: 'perm', status: '5.3.5' }, bad);
  }
  const env = (s: string) => parseEnvelope(Buffer.from(s), 'dialup-');
  t.like(env('Return-Path: <>\nDelivered-To: dialup-x@d\nrest'), { kind: 'ok', value: { sender: '', recipient: 'x@d', offset: 41 } });
  t.like(env('Return-Path: <a@b>\n'), { kind: 'perm', status: '5.6.0' });
  t.like(env('Return-Path: <a@b>\nDelivered-To: dialup-\n'), { kind: 'perm', status: '5.1.1' });
  t.like(env('X: y\nDelivered-To: dialup-x@d\n'), { kind: 'perm', status: '5.6.0' });
  t.like(env('x'.repeat(5000)), { kind: 'perm', status: '5.6.0' });
});
