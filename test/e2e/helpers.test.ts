// The delivery helpers with qmail's arguments, environment and exit codes: forward,
// condredirect, bouncesaying, except, preline, qreceipt. The message is a file on stdin (as
// qmail-local gives it); wrapped programs are real processes (/bin/sh). The last test runs
// the helpers as `|qmta ...` lines of .qmail files under a running qmta.

import test from 'ava';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { recordingRemote } from '../helpers/remote.js';
import { ok, temp, type Outcome } from '../../ts/outcome.js';
import { createMta } from '../../ts/index.js';
import type { Envelope, MessageWriter, Queue } from '../../ts/queue/types.js';
import { runBouncesaying, runExcept } from '../../ts/helpers/bouncesaying.js';
import { runCondredirect } from '../../ts/helpers/condredirect.js';
import { runForward } from '../../ts/helpers/forward.js';
import { messageStream, type HelperIo } from '../../ts/helpers/io.js';
import { runPreline } from '../../ts/helpers/preline.js';
import { runQreceipt } from '../../ts/helpers/qreceipt.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;
const MESSAGE = 'Message-ID: <m1@x.example>\nNotice-Requested-Upon-Delivery-To: joe@host.example\nSubject: hi\n\nbody\n';
const ENV = {
  PATH: process.env['PATH'], SENDER: 'alice@a.example', NEWSENDER: 'joe-owner@host.example',
  DTLINE: 'Delivered-To: joe@host.example\n', RPLINE: 'Return-Path: <alice@a.example>\n',
  UFLINE: 'From alice@a.example Thu Jan  1 00:00:00 1970\n',
};

interface Harness { io: HelperIo; out: () => string; err: () => string; stored: Array<{ envelope: Envelope; body: string }> }

function harness(t: ExecutionContext, opts: { message?: string; env?: Record<string, string | undefined>; queueFails?: 'temp' } = {}): Harness {
  const dir = tempDir(t);
  const path = join(dir, 'message');
  writeFileSync(path, opts.message ?? MESSAGE);
  const fd = openSync(path, 'r');
  t.teardown(() => closeSync(fd));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  stdout.on('data', (c: Buffer) => o.push(c));
  stderr.on('data', (c: Buffer) => e.push(c));
  const stored: Array<{ envelope: Envelope; body: string }> = [];
  const queue = {
    createWriter(): Outcome<MessageWriter> {
      const parts: Buffer[] = [];
      return ok({
        write(c: Uint8Array) { parts.push(Buffer.from(c)); return undefined; },
        get size() { return parts.reduce((n, p) => n + p.length, 0); },
        async commit(envelope: Envelope) {
          if (opts.queueFails) return temp('4.3.0', 'queue is sick');
          stored.push({ envelope, body: Buffer.concat(parts).toString() });
          return ok(`q${stored.length}`);
        },
        abort() {},
      });
    },
  } as unknown as Queue;
  const io: HelperIo = { env: opts.env ?? ENV, stdinFd: fd, stdout, stderr, openQueue: async () => ok(queue) };
  return { io, out: () => Buffer.concat(o).toString(), err: () => Buffer.concat(e).toString(), stored };
}

test('forward queues DTLINE + message to every address with NEWSENDER', async (t) => {
  const h = harness(t);
  t.is(await runForward(['a@x.example', 'b@y.example'], h.io), 0);
  t.deepEqual(h.stored[0]?.envelope, { sender: 'joe-owner@host.example', recipients: ['a@x.example', 'b@y.example'] });
  t.is(h.stored[0]?.body, ENV.DTLINE + MESSAGE);
  t.regex(h.err(), /^forward: qp q1\n$/);
});

test('forward: 100 without NEWSENDER or DTLINE, 111 on a temporary queue failure', async (t) => {
  t.is(await runForward(['a@x'], harness(t, { env: { DTLINE: 'x\n' } }).io), 100);
  t.is(await runForward(['a@x'], harness(t, { env: { NEWSENDER: 'x' } }).io), 100);
  const sick = harness(t, { queueFails: 'temp' });
  t.is(await runForward(['a@x'], sick.io), 111);
  t.regex(sick.err(), /forward: fatal: queue is sick/);
});

test('condredirect: program 0 -> requeued with SENDER to the new address, exit 99', async (t) => {
  const h = harness(t);
  // The program reads the whole message first: condredirect must rewind before copying.
  t.is(await runCondredirect(['boss@z.example', 'sh', '-c', 'cat >/dev/null; exit 0'], h.io), 99);
  t.deepEqual(h.stored[0]?.envelope, { sender: 'alice@a.example', recipients: ['boss@z.example'] });
  t.is(h.stored[0]?.body, ENV.DTLINE + MESSAGE);
});

test('condredirect: other exits continue (0), 111 is temporary, missing program continues, usage 100', async (t) => {
  t.is(await runCondredirect(['boss@z', 'sh', '-c', 'exit 1'], harness(t).io), 0);
  t.is(await runCondredirect(['boss@z', 'sh', '-c', 'exit 111'], harness(t).io), 111);
  t.is(await runCondredirect(['boss@z', 'sh', '-c', 'kill -9 $$'], harness(t).io), 111);
  t.is(await runCondredirect(['boss@z', '/nonexistent/program'], harness(t).io), 0);
  t.is(await runCondredirect(['boss@z'], harness(t).io), 100);
  const noSender = harness(t, { env: { PATH: process.env['PATH'], DTLINE: 'x\n' } });
  t.is(await runCondredirect(['boss@z', 'true'], noSender.io), 100);
});

test('bouncesaying: no program bounces with the text; program decides otherwise', async (t) => {
  const h = harness(t);
  t.is(await runBouncesaying(['This address is closed.'], h.io), 100);
  t.is(h.err(), 'This address is closed.\n');
  t.is(await runBouncesaying(['no', 'sh', '-c', 'exit 0'], harness(t).io), 100);
  t.is(await runBouncesaying(['no', 'sh', '-c', 'exit 1'], harness(t).io), 0);
  t.is(await runBouncesaying(['no', 'sh', '-c', 'exit 111'], harness(t).io), 111);
  t.is(await runBouncesaying(['no', '/nonexistent/program'], harness(t).io), 0);
  t.is(await runBouncesaying([], harness(t).io), 100);
});

test('except inverts: 0 -> 100, 111 -> 111, other -> 0; the wrapped program reads the message', async (t) => {
  t.is(await runExcept(['sh', '-c', 'exit 0'], harness(t).io), 100);
  t.is(await runExcept(['sh', '-c', 'exit 111'], harness(t).io), 111);
  t.is(await runExcept(['sh', '-c', 'exit 3'], harness(t).io), 0);
  t.is(await runExcept([], harness(t).io), 100);
  t.is(await runExcept(['grep', '-q', '^Subject: hi'], harness(t).io), 100);
  t.is(await runExcept(['grep', '-q', '^Subject: other'], harness(t).io), 0);
  t.is(await runBouncesaying(['x', 'grep', '-q', '^Subject: hi'], harness(t).io), 100);
});

test('preline feeds UFLINE, RPLINE, DTLINE then the message; -f/-r/-d drop lines; exit code passes', async (t) => {
  const h = harness(t);
  t.is(await runPreline(['cat'], h.io), 0);
  t.is(h.out(), ENV.UFLINE + ENV.RPLINE + ENV.DTLINE + MESSAGE);
  const h2 = harness(t);
  t.is(await runPreline(['-fr', 'cat'], h2.io), 0);
  t.is(h2.out(), ENV.DTLINE + MESSAGE);
  const h3 = harness(t);
  t.is(await runPreline(['-fdD', 'cat'], h3.io), 0);
  t.is(h3.out(), ENV.RPLINE + ENV.DTLINE + MESSAGE);
  t.is(await runPreline(['sh', '-c', 'cat >/dev/null; exit 7'], harness(t).io), 7);
  t.is(await runPreline(['sh', '-c', 'exit 0'], harness(t).io), 0);
  t.is(await runPreline(['/nonexistent/program'], harness(t).io), 100);
  t.is(await runPreline([], harness(t).io), 100);
  t.is(await runPreline(['cat'], harness(t, { env: { RPLINE: 'x', DTLINE: 'y' } }).io), 100);
});

test('qreceipt sends a success notice to SENDER with sender <> only when asked for this address', async (t) => {
  const h = harness(t);
  t.is(await runQreceipt(['joe@host.example'], h.io), 0);
  t.deepEqual(h.stored[0]?.envelope, { sender: '', recipients: ['alice@a.example'] });
  t.is(h.stored[0]?.body, 'From: DELIVERY NOTICE SYSTEM <alice@a.example>\nTo: <alice@a.example>\n' +
    'Subject: success notice\n\nHi! This is the qreceipt program. Your message was delivered to the\n' +
    'following address: joe@host.example. Thanks for asking.\nYour Message-ID: <m1@x.example>\n');
  const other = harness(t);
  t.is(await runQreceipt(['someone@else.example'], other.io), 0);
  t.is(other.stored.length, 0);
  const bounce = harness(t, { env: { ...ENV, SENDER: '' } });
  t.is(await runQreceipt(['joe@host.example'], bounce.io), 0);
  t.is(bounce.stored.length, 0);
  const bad = harness(t, { message: 'Notice-Requested-Upon-Delivery-To: "broken\n\nx\n' });
  t.is(await runQreceipt(['joe@host.example'], bad.io), 100);
  t.is(await runQreceipt([], harness(t).io), 100);
  t.is(await runQreceipt(['joe@host.example'], harness(t, { queueFails: 'temp' }).io), 111);
});

test('qreceipt: UTF-8 sender and address are matched and written as they are (RFC 6532)', async (t) => {
  const h = harness(t, { env: { ...ENV, SENDER: 'jürgen.müller@a.example' }, message: 'Notice-Requested-Upon-Delivery-To: jö@host.example\n\nx\n' });
  t.is(await runQreceipt(['jö@host.example'], h.io), 0);
  t.deepEqual(h.stored[0]?.envelope, { sender: '', recipients: ['jürgen.müller@a.example'] });
  t.true(h.stored[0]?.body.startsWith('From: DELIVERY NOTICE SYSTEM <jürgen.müller@a.example>\nTo: <jürgen.müller@a.example>\n'), h.stored[0]?.body);
  t.true(h.stored[0]?.body.includes('following address: jö@host.example. Thanks'));
});

test('through a running qmta: |qmta bouncesaying bounces, |qmta condredirect redirects with the original sender', async (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), 'h.example\n');
  writeFileSync(join(home, 'control', 'locals'), 'h.example\n');
  const { remote, sent: got } = recordingRemote();
  const mta = await createMta({ home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  const qmta = `'${process.execPath}' '${MAIN}' --home '${home}'`;
  writeFileSync(join(home, 'alias', '.qmail-closed'), `|${qmta} bouncesaying 'This address is closed.'\n`);
  writeFileSync(join(home, 'alias', '.qmail-redir'), `|${qmta} condredirect boss@far.example grep -q '^Subject: urgent'\n./Maildir/\n`);
  await mta.start();
  await mta.inject({ from: 'alice@a.example', to: ['closed@h.example'], message: Buffer.from('Subject: hi\n\nx\n') });
  await mta.inject({ from: 'alice@a.example', to: ['redir@h.example'], message: Buffer.from('Subject: urgent\n\ncall me\n') });
  const wait = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
  };
  await wait(() => got.length >= 2);
  const bounce = got.find((g) => g.sender === '');
  t.deepEqual(bounce?.recipients, ['alice@a.example']);
  t.regex(bounce?.body ?? '', /This address is closed\./);
  const redirected = got.find((g) => g.recipients.includes('boss@far.example'));
  t.is(redirected?.sender, 'alice@a.example');
  t.regex(redirected?.body ?? '', /^Delivered-To: redir@h\.example\n[\s\S]*Subject: urgent\n\ncall me\n$/);
});

test('messageStream never closes the caller\'s descriptor, even when reading stops early', async (t) => {
  const path = join(tempDir(t), 'big');
  writeFileSync(path, 'x'.repeat(200_000));
  const fd = openSync(path, 'r');
  for await (const chunk of messageStream(fd, true)) if (chunk) break;   // destroys the stream
  await new Promise((r) => setTimeout(r, 50));
  t.notThrows(() => closeSync(fd));   // EBADF here would mean the stream closed our fd
});
