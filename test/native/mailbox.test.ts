// The mailbox wrappers (ts/mailbox over crates/mailbox): what lands on disk, byte for
// byte, through the async (libuv pool) and sync (worker thread) forms, and the refusals.

import test from 'ava';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliveryHeaders, mailbox } from '../../ts/mailbox/index.js';
import type { Outcome } from '../../ts/outcome.js';
import { tempDir } from '../helpers/home.js';

const BODY = Buffer.concat([
  Buffer.from('Subject: t\n\nFrom the start\n>From quoted\n.\n..two dots\n'),
  Buffer.from([0xe9, 0x74, 0xe9, 0x0a, 0x80, 0xff, 0x00, 0x0d, 0x0a]),
  Buffer.from('no final newline'),
]);
const HEADERS = deliveryHeaders('a@example.org', 'u@example.net');

function value<T>(o: Outcome<T>): T {
  if (o.kind !== 'ok') throw new Error(`expected ok, got ${o.kind} ${o.status} ${o.text}`);
  return o.value;
}

function bodyFile(dir: string, bytes: Buffer = BODY): string {
  const p = join(dir, 'body');
  writeFileSync(p, bytes);
  return p;
}

test('deliveryHeaders writes qmail-local lines and refuses line breaks', (t) => {
  t.is(HEADERS.toString(), 'Return-Path: <a@example.org>\nDelivered-To: u@example.net\n');
  t.is(deliveryHeaders('', 'x@y').toString(), 'Return-Path: <>\nDelivered-To: x@y\n');
  t.throws(() => deliveryHeaders('a@b\r\nX: y', 'x@y'));
  t.throws(() => deliveryHeaders('a@b', 'x@y\n'));
});

for (const form of ['async', 'sync'] as const) {
  const deliver = async (maildir: string, bodyPath: string) =>
    form === 'async'
      ? mailbox.deliverMaildir({ maildir, headers: HEADERS, bodyPath })
      : mailbox.deliverMaildirSync({ maildir, headers: HEADERS, bodyPath });

  test(`${form}: maildir is created and the file is headers + body, byte-exact`, async (t) => {
    const dir = tempDir(t);
    const md = join(dir, 'Maildir');
    const name = value(await deliver(md, bodyFile(dir)));
    t.regex(name, /^\d+\.M\d+P\d+Q\d+\.[^/:]+$/);
    for (const sub of ['', 'tmp', 'new', 'cur']) t.is(statSync(join(md, sub)).mode & 0o777, 0o700);
    t.deepEqual(readdirSync(join(md, 'new')), [name]);
    t.deepEqual(readdirSync(join(md, 'tmp')), []);
    t.deepEqual(readFileSync(join(md, 'new', name)), Buffer.concat([HEADERS, BODY]));
  });

  test(`${form}: a .. path and a symlinked parent are refused with 4.7.0`, async (t) => {
    const dir = tempDir(t);
    const body = bodyFile(dir);
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    const up = await deliver(`${dir}/real/../Maildir`, body);
    t.like(up, { kind: 'temp', status: '4.7.0' });
    const linked = await deliver(join(dir, 'link', 'Maildir'), body);
    t.like(linked, { kind: 'temp', status: '4.7.0' });
    t.regex(linked.kind === 'temp' ? linked.text : '', /link is a symbolic link/);
    t.deepEqual(readdirSync(join(dir, 'real')), []);
  });

  test(`${form}: mbox gets From_ line, headers, quoted body, final newline and blank line`, async (t) => {
    const dir = tempDir(t);
    const mbox = join(dir, 'mbox');
    const d = { mbox, sender: 'a b@example.org', headers: HEADERS, bodyPath: bodyFile(dir) };
    const r = form === 'async' ? await mailbox.deliverMbox(d) : mailbox.deliverMboxSync(d);
    t.is(r.kind, 'ok');
    const got = readFileSync(mbox);
    const firstLf = got.indexOf(0x0a);
    t.regex(got.subarray(0, firstLf).toString(), /^From a-b@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}$/);
    const quoted = Buffer.from(BODY.toString('latin1').replace(/^(>*From )/gm, '>$1') + '\n\n', 'latin1');
    t.deepEqual(got.subarray(firstLf + 1), Buffer.concat([HEADERS, quoted]));
    t.is(statSync(mbox).mode & 0o777, 0o600);
  });
}

test('an mbox held by a dotlock times out as temporary 4.3.0 and is left unchanged', async (t) => {
  const dir = tempDir(t);
  const mbox = join(dir, 'mbox');
  writeFileSync(mbox, '');
  writeFileSync(`${mbox}.lock`, '');
  const d = { mbox, sender: '', headers: HEADERS, bodyPath: bodyFile(dir), lockWaitMs: 200 };
  const r = await mailbox.deliverMbox(d);
  t.deepEqual(r, { kind: 'temp', status: '4.3.0', text: 'File has been locked for 0.2 seconds straight.' });
  t.deepEqual(mailbox.deliverMboxSync(d), r);
  t.is(statSync(mbox).size, 0);
});

test('many async maildir deliveries in flight get distinct files', async (t) => {
  const dir = tempDir(t);
  const md = join(dir, 'Maildir');
  const body = bodyFile(dir, Buffer.from('x\n'));
  const names = await Promise.all(
    Array.from({ length: 200 }, () => mailbox.deliverMaildir({ maildir: md, headers: HEADERS, bodyPath: body }).then(value)),
  );
  t.is(new Set(names).size, 200);
  t.is(readdirSync(join(md, 'new')).length, 200);
});

test('a missing body is a temporary failure and leaves nothing behind', async (t) => {
  const dir = tempDir(t);
  const r = await mailbox.deliverMaildir({ maildir: join(dir, 'Maildir'), headers: HEADERS, bodyPath: join(dir, 'nope') });
  t.like(r, { kind: 'temp', status: '4.2.1' });
});
