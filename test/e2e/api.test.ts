// The embedding API end to end: createMta -> inject -> delivered event -> file in the maildir.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createMta, type DeliveryEvent } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';

function once<T>(mta: { once(e: string, f: (x: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => mta.once(event, resolve));
}

test('createMta + inject delivers into the alias maildir with Return-Path and Delivered-To', async (t) => {
  const home = join(tempDir(t), 'home');
  const mta = await createMta({ home, control: { me: 'mx.example', locals: ['mx.example'] }, log: false });
  t.teardown(() => mta.stop(1000));
  await mta.start();
  const delivered = once<DeliveryEvent>(mta, 'delivered');
  const done = once<{ id: string }>(mta, 'done');
  const id = await mta.inject({ from: 'a@far.example', to: ['postmaster@mx.example'], message: Buffer.from('Subject: hi\n\nhello\n') });
  t.regex(id, /\S/);
  const e = await delivered;
  t.is(e.id, id);
  t.is(e.recipient, 'postmaster@mx.example');
  t.regex(e.report, /^did 1\+0\+0/);
  t.deepEqual(await done, { id });
  const newDir = join(home, 'alias', 'Maildir', 'new');
  const files = readdirSync(newDir);
  t.is(files.length, 1);
  const text = readFileSync(join(newDir, files[0]!), 'utf8');
  t.true(text.startsWith('Return-Path: <a@far.example>\nDelivered-To: postmaster@mx.example\n'), text);
  t.true(text.endsWith('Subject: hi\n\nhello\n'));
});

test('inject takes a stream; an unknown user bounces back to the sender (bounced event)', async (t) => {
  const home = join(tempDir(t), 'home');
  const mta = await createMta({ home, control: { me: 'mx.example', locals: ['mx.example'] }, log: false });
  t.teardown(() => mta.stop(1000));
  await mta.start();
  const failed = once<DeliveryEvent>(mta, 'failed');
  const bounced = once<{ id: string; bounce: string | undefined }>(mta, 'bounced');
  // The bounce goes to postmaster@mx.example: local, so it lands in the alias maildir.
  const id = await mta.inject({ from: 'postmaster@mx.example', to: ['nobody-here@mx.example'], message: Readable.from([Buffer.from('Subject: x\n\nbody\n')]) });
  const f = await failed;
  t.is(f.id, id);
  t.regex(f.report, /Sorry, no mailbox here by that name\. \(#5\.1\.1\)/);
  const b = await bounced;
  t.is(b.id, id);
  t.truthy(b.bounce);
  const delivered = await once<DeliveryEvent>(mta, 'delivered');
  t.is(delivered.id, b.bounce!);
  const newDir = join(home, 'alias', 'Maildir', 'new');
  const text = readFileSync(join(newDir, readdirSync(newDir)[0]!), 'utf8');
  t.true(text.includes('Hi. This is the qmail-send program at mx.example.'));
  t.true(text.includes('<nobody-here@mx.example>:\nSorry, no mailbox here by that name. (#5.1.1)'));
});
