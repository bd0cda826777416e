// Refusals and failures: bad envelopes are permanent with their RFC 3463 status; a
// read-only queue folder and a full disk (a 512 KiB tmpfs) are temporary; and none of
// them leaves a half-visible message behind.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { openQueue, type DurableQueue } from '../../ts/queue/index.js';
import { tempDir } from '../helpers/home.js';

function open(root: string, opts = {}): DurableQueue {
  const q = openQueue(root, opts);
  if (q.kind !== 'ok') throw new Error(`openQueue: ${q.status} ${q.text}`);
  return q.value;
}

/** Runs mount; on refusal logs the reason and asserts it is a permission refusal. */
function mount(t: ExecutionContext, args: string[], target: string): boolean {
  const r = spawnSync('mount', [...args, target], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = `${r.stderr}${r.error ? String(r.error) : ''}`;
    t.log(`mount ${args.join(' ')} refused: ${why}`);
    t.regex(why, /permission denied|must be superuser|not permitted/i, 'the only accepted refusal is a lack of privilege');
    return false;
  }
  if (!args.some((a) => a.includes('remount'))) t.teardown(() => void spawnSync('umount', ['-l', target]));
  return true;
}

const long = 'x'.repeat(1001);

for (const [name, envelope, status] of [
  ['a recipient over 1,000 bytes', { sender: 'a@b', recipients: [`${long}@y`] }, '5.1.3'],
  ['a sender over 1,000 bytes', { sender: `${long}@y`, recipients: ['c@d'] }, '5.1.7'],
  ['a NUL in a recipient', { sender: 'a@b', recipients: ['c\0d@e'] }, '5.1.3'],
  ['a CR in a recipient', { sender: 'a@b', recipients: ['c\rd@e'] }, '5.1.3'],
  ['an LF in the sender', { sender: 'a\n@b', recipients: ['c@d'] }, '5.1.7'],
  ['too many recipients', { sender: 'a@b', recipients: ['1@x', '2@x', '3@x', '4@x'] }, '5.5.3'],
] as const) {
  test(`${name} is refused permanently with ${status}, leaving nothing`, async (t) => {
    const q = open(join(tempDir(t), 'queue'), { maxRecipients: 3 });
    const o = await q.add(envelope, Buffer.from('body\n'));
    t.like(o, { kind: 'perm', status });
    t.deepEqual(q.stats(), { messages: 0, todo: 0 });
  });
}

test('a read-only queue folder is a temporary failure and nothing is half-visible', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'queue');
  const q = open(root);
  const first = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Buffer.from('before\n'));
  t.is(first.kind, 'ok');
  if (!mount(t, ['--bind', dir], dir) || !mount(t, ['-o', 'remount,ro,bind'], dir)) return;
  const o = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Buffer.from('after\n'));
  t.like(o, { kind: 'temp', status: '4.3.0' });
  t.regex(o.kind === 'temp' ? o.text : '', /read-only/i);
  t.deepEqual(q.stats(), { messages: 1, todo: 1 });
  t.like(openQueue(join(dir, 'fresh')), { kind: 'temp' });
});

test('a full disk is a temporary failure and leaves no half-visible message', async (t) => {
  const dir = tempDir(t);
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  if (!mount(t, ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs'], disk)) return;
  const q = open(join(disk, 'queue'));
  const small = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Buffer.from('fits\n'));
  t.is(small.kind, 'ok');
  const big = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Buffer.alloc(1024 * 1024, 120));
  t.like(big, { kind: 'temp', status: '4.3.1' });
  const chunks = Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 121));
  const streamed = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Readable.from(chunks));
  t.like(streamed, { kind: 'temp', status: '4.3.1' });
  t.deepEqual(q.stats(), { messages: 1, todo: 1 }, 'only the message that fitted');
  const after = await q.add({ sender: 'a@b', recipients: ['c@d'] }, Buffer.from('fits again\n'));
  t.is(after.kind, 'ok', 'the space of the failed messages came back');
});
