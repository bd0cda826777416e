// QSBMF bounces: structure and status codes parsed back with mailparser; double bounce,
// triple bounce, VERP bounce target, the cap on the copy of the original.

import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createBouncer } from '../../ts/bounce/index.js';
import { failureParagraph } from '../../ts/bounce/paragraph.js';
import { ok } from '../../ts/outcome.js';
import type { BodySource, Envelope, Queue } from '../../ts/queue/types.js';
import { tempDir } from '../helpers/home.js';

const settings = { bouncefrom: 'MAILER-DAEMON', bouncehost: 'mx.example', doublebounceto: 'postmaster', doublebouncehost: 'mx.example', maxBody: 65536 };

function capture() {
  const added: { env: Envelope; bytes: Buffer }[] = [];
  const queue = {
    async add(env: Envelope, body: BodySource) {
      const bytes = body instanceof Uint8Array ? Buffer.from(body)
        : 'path' in body ? Buffer.concat([Buffer.from(body.prefix ?? new Uint8Array()), readFileSync(body.path)])
          : Buffer.alloc(0);
      added.push({ env, bytes });
      return ok('b1');
    },
  } as unknown as Queue;
  return { queue, added };
}

const ORIGINAL = 'Received: (qmta 1); 1 Jan 2026 00:00:00 -0000\nFrom: a@x.example\nTo: joe@mx.example\nSubject: hello\n\nbody line\n';

/** QSBMF paragraphs of a bounce's text (paragraph = lines up to one blank line). */
function paragraphs(text: string): string[] {
  return text.split('\n\n');
}

test('a single bounce is QSBMF with one failure paragraph per recipient and (#x.y.z) codes', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, ORIGINAL);
  const { queue, added } = capture();
  const bouncer = createBouncer(queue, () => settings, () => Date.UTC(2026, 10, 5, 3, 4, 5));
  const text = failureParagraph('joe@mx.example', 'Sorry, no mailbox here by that name. (#5.1.1)') +
    failureParagraph('bob@mx.example', 'program said:\n\nfull (#5.2.2)');
  const r = await bouncer.send({ id: '1', sender: 'a@x.example', bodyPath: body, paragraphs: text });
  t.deepEqual(r, ok({ queued: 'b1' }));
  t.is(added.length, 1);
  t.deepEqual(added[0]!.env, { sender: '', recipients: ['a@x.example'] });
  const raw = added[0]!.bytes.toString();
  const mail = await simpleParser(added[0]!.bytes);
  t.is(mail.subject, 'failure notice');
  t.is(mail.from?.text, 'MAILER-DAEMON@mx.example');
  t.is((mail.to as { text: string }).text, 'a@x.example');
  t.is(mail.headers.get('message-id'), undefined);
  t.true(raw.startsWith('Date: 5 Nov 2026 03:04:05 -0000\n'));
  const paras = paragraphs(raw.slice(raw.indexOf('\n\n') + 2));
  t.true(paras[0]!.startsWith('Hi. This is the qmail-send program at mx.example.\n'));
  t.is(paras[1], '<joe@mx.example>:\nSorry, no mailbox here by that name. (#5.1.1)');
  t.is(paras[2], '<bob@mx.example>:\nprogram said:\n/\nfull (#5.2.2)');
  t.is(paras[3], '--- Below this line is a copy of the message.');
  t.true(paras.slice(1, 3).every((p) => /^<[^>]+>:\n/.test(p) && /\(#5\.\d\.\d\)$/.test(p)));
  t.true(raw.endsWith(`--- Below this line is a copy of the message.\n\nReturn-Path: <a@x.example>\n${ORIGINAL}`));
});

test('the bounce of a bounce goes to doublebounceto@doublebouncehost with sender #@[]', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, ORIGINAL);
  const { queue, added } = capture();
  const bouncer = createBouncer(queue, () => ({ ...settings, doublebounceto: 'admin', doublebouncehost: 'ops.example' }));
  await bouncer.send({ id: '1', sender: '', bodyPath: body, paragraphs: failureParagraph('a@x.example', 'gone (#5.1.1)') });
  t.deepEqual(added[0]!.env, { sender: '#@[]', recipients: ['admin@ops.example'] });
  const raw = added[0]!.bytes.toString();
  t.true(raw.includes('\n\nHi. This is the qmail-send program at mx.example.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n'));
  t.true(raw.includes('--- Below this line is the original bounce.\n\nReturn-Path: <>\n'));
});

test('a failing double bounce is dropped (triple bounce), nothing is queued', async (t) => {
  const { queue, added } = capture();
  const r = await createBouncer(queue, () => settings).send({ id: '1', sender: '#@[]', bodyPath: '/nonexistent', paragraphs: 'x' });
  t.deepEqual(r, ok({ dropped: true }));
  t.is(added.length, 0);
});

test('a VERP sender P@H-@[] gets its bounce at P@H; bouncefrom/bouncehost are honoured', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, ORIGINAL);
  const { queue, added } = capture();
  await createBouncer(queue, () => ({ ...settings, bouncefrom: 'bounces', bouncehost: 'b.example' }))
    .send({ id: '1', sender: 'list-owner-@lists.example-@[]', bodyPath: body, paragraphs: failureParagraph('z@y', 'no (#5.1.1)') });
  t.deepEqual(added[0]!.env.recipients, ['list-owner-@lists.example']);
  const mail = await simpleParser(added[0]!.bytes);
  t.is(mail.from?.text, 'bounces@b.example');
  t.true(added[0]!.bytes.toString().includes('Hi. This is the qmail-send program at b.example.'));
});

test('the copy of a big original is capped at its header plus maxBody, cut at a line end', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  const header = 'From: a@x.example\nSubject: big\n\n';
  writeFileSync(body, header + 'x'.repeat(99) + '\n'.repeat(1) + ('y'.repeat(99) + '\n').repeat(3000));
  const { queue, added } = capture();
  await createBouncer(queue, () => ({ ...settings, maxBody: 1000 }))
    .send({ id: '1', sender: 'a@x.example', bodyPath: body, paragraphs: failureParagraph('z@y', 'no (#5.1.1)') });
  const raw = added[0]!.bytes.toString();
  const copy = raw.slice(raw.indexOf('Return-Path: <a@x.example>\n') + 'Return-Path: <a@x.example>\n'.length);
  t.true(copy.startsWith(header));
  const kept = copy.slice(0, copy.indexOf('\n[qmta:'));
  t.is(kept.length, header.length + 1000);
  t.regex(copy, /\n\[qmta: the last \d+ bytes of the original message were not copied\]\n$/);
});

test('failureParagraph keeps QSBMF paragraphs intact', (t) => {
  t.is(failureParagraph('a\nb@x', 'one\n\ntwo\n'), '<a_b@x>:\none\n/\ntwo\n\n');
});
