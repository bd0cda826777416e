// The queue through its TS wrapper: add, read back, preprocess, done marks, bounce
// paragraphs, next attempt, removal, sync forms, and bad ids.

import test from 'ava';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openQueue, QueueError, type DurableQueue } from '../../ts/queue/index.js';
import { tempDir } from '../helpers/home.js';
import type { ExecutionContext } from 'ava';

function open(t: ExecutionContext, opts = {}): DurableQueue {
  const q = openQueue(join(tempDir(t), 'queue'), opts);
  if (q.kind !== 'ok') throw new Error(`openQueue: ${q.status} ${q.text}`);
  return q.value;
}

async function added(q: DurableQueue, sender: string, recipients: string[], body: string): Promise<string> {
  const o = await q.add({ sender, recipients }, Buffer.from(body));
  if (o.kind !== 'ok') throw new Error(`add: ${o.status} ${o.text}`);
  return o.value;
}

test('an added message is in todo with its envelope and body', async (t) => {
  const q = open(t);
  const heard: string[] = [];
  q.onCommit((id) => heard.push(id));
  q.onCommit(() => {
    throw new Error('a broken listener');
  });
  const id = await added(q, 'a@b', ['c@d', 'e@f'], 'Subject: x\n\nhello\n');
  t.deepEqual(heard, [id]);
  t.deepEqual(q.listTodo(), [id]);
  const todo = q.readTodo(id);
  if (todo.kind !== 'ok') return t.fail(todo.text);
  t.is(todo.value.sender, 'a@b');
  t.deepEqual(todo.value.recipients, ['c@d', 'e@f']);
  t.true(Math.abs(todo.value.birth - Date.now()) < 60_000);
  t.is(readFileSync(q.bodyPath(id), 'utf8'), 'Subject: x\n\nhello\n');
  t.deepEqual(q.stats(), { messages: 1, todo: 1 });
});

test('a streamed body and a file body with a prefix are queued byte for byte', async (t) => {
  const q = open(t);
  const chunks = [Buffer.from('one\n'), Buffer.from([0xff, 0x00, 0x0a]), Buffer.from('three\n')];
  const s = await q.add({ sender: '', recipients: ['x@y'] }, Readable.from(chunks));
  if (s.kind !== 'ok') return t.fail(s.text);
  t.deepEqual(readFileSync(q.bodyPath(s.value)), Buffer.concat(chunks));
  const src = join(tempDir(t), 'msg');
  writeFileSync(src, 'body line\n');
  const f = await q.add({ sender: 'a@b', recipients: ['x@y'] }, { path: src, prefix: Buffer.from('Received: z\n') });
  if (f.kind !== 'ok') return t.fail(f.text);
  t.is(readFileSync(q.bodyPath(f.value), 'utf8'), 'Received: z\nbody line\n');
  const part = await q.add({ sender: 'a@b', recipients: ['x@y'] }, createReadStream(src, { start: 5 }));
  if (part.kind !== 'ok') return t.fail(part.text);
  t.is(readFileSync(q.bodyPath(part.value), 'utf8'), 'line\n', 'a ReadStream is streamed, not copied whole by path');
  const missing = await q.add({ sender: 'a@b', recipients: ['x@y'] }, { path: join(src, 'nope') });
  t.like(missing, { kind: 'temp' });
  t.is(q.listTodo().length, 3);
});

test('a writer streams, reports its size and commits; abort leaves nothing', async (t) => {
  const q = open(t);
  const w = q.createWriter();
  if (w.kind !== 'ok') return t.fail(w.text);
  t.is(w.value.write(Buffer.from('abc')), undefined);
  t.is(w.value.write(Buffer.from('de')), undefined);
  t.is(w.value.size, 5);
  const id = await w.value.commit({ sender: 's@x', recipients: ['r@x'] });
  t.deepEqual(id, { kind: 'ok', value: w.value.id });
  t.like(await w.value.commit({ sender: 's@x', recipients: ['r@x'] }), { kind: 'temp' }, 'a writer commits once');
  const gone = q.createWriter();
  if (gone.kind !== 'ok') return t.fail(gone.text);
  gone.value.write(Buffer.from('x'));
  gone.value.abort();
  t.deepEqual(q.stats(), { messages: 1, todo: 1 });
});

test('preprocess, markDone, next attempt, bounce and remove round-trip', async (t) => {
  const q = open(t);
  const id = await added(q, 's@x', ['l1@here', 'l2@here', 'r@there'], 'body\n');
  const birth = q.readTodo(id);
  t.deepEqual(await q.preprocess(id, { local: ['l1@here', 'l2@here'], remote: ['r@there'] }), { kind: 'ok', value: undefined });
  t.deepEqual(q.listTodo(), []);
  t.deepEqual(q.listQueued(), [id]);
  const info = q.info(id);
  t.deepEqual(info, { kind: 'ok', value: { id, sender: 's@x', birth: birth.kind === 'ok' ? birth.value.birth : 0, size: 5 } });
  t.deepEqual(await q.markDone(id, 'local', 1), { kind: 'ok', value: undefined });
  t.deepEqual(q.recipients(id, 'local'), {
    kind: 'ok',
    value: [{ index: 0, address: 'l1@here', done: false }, { index: 1, address: 'l2@here', done: true }],
  });
  const at = Date.UTC(2030, 0, 1);
  t.deepEqual(await q.setNextAttempt(id, 'remote', at), { kind: 'ok', value: undefined });
  t.is(q.nextAttempt(id, 'remote'), at);
  t.deepEqual(q.markDoneSync(id, 'remote', 0), { kind: 'ok', value: undefined });
  t.is(q.nextAttempt(id, 'remote'), at, 'a done mark keeps the next attempt time');
  t.deepEqual(q.readBounce(id), { kind: 'ok', value: undefined });
  await q.appendBounce(id, '<l1@here>:\nNo mailbox here by that name. (#5.1.1)\n\n');
  t.deepEqual(q.readBounce(id), { kind: 'ok', value: '<l1@here>:\nNo mailbox here by that name. (#5.1.1)\n\n' });
  t.deepEqual(await q.remove(id), { kind: 'ok', value: undefined });
  t.deepEqual(q.listQueued(), []);
  t.deepEqual(q.stats(), { messages: 0, todo: 0 });
  t.is(q.nextAttempt(id, 'local'), undefined);
});

test('the sync forms work for worker threads', (t) => {
  const q = open(t);
  const w = q.createWriter();
  if (w.kind !== 'ok') return t.fail(w.text);
  w.value.write(Buffer.from('sync body'));
  const id = w.value.commitSync({ sender: 'a@b', recipients: ['c@d'] });
  if (id.kind !== 'ok') return t.fail(id.text);
  t.deepEqual(q.preprocessSync(id.value, { local: [], remote: ['c@d'] }), { kind: 'ok', value: undefined });
  t.deepEqual(q.recipients(id.value, 'local'), { kind: 'ok', value: [] });
  t.deepEqual(q.removeSync(id.value), { kind: 'ok', value: undefined });
  t.deepEqual(q.stats(), { messages: 0, todo: 0 });
});

test('bad ids and channels are refused, never used as paths', async (t) => {
  const q = open(t);
  t.like(q.readTodo('../../etc/passwd'), { kind: 'perm', status: '5.3.0' });
  t.like(await q.remove('1/../2'), { kind: 'perm', status: '5.3.0' });
  t.throws(() => q.bodyPath('..'), { instanceOf: QueueError });
  t.like(q.recipients('4294967296', 'smtp' as 'local'), { kind: 'perm', status: '5.3.0' });
  t.like(q.readTodo('4294967296'), { kind: 'temp', status: '4.2.1' }, 'a missing entry is temporary');
});

test('openQueue refuses a bad maxRecipients and a path under a file', (t) => {
  const dir = tempDir(t);
  t.like(openQueue(join(dir, 'q'), { maxRecipients: 0 }), { kind: 'perm', status: '5.3.5' });
  writeFileSync(join(dir, 'file'), 'x');
  t.like(openQueue(join(dir, 'file', 'q')), { kind: 'temp' });
});
