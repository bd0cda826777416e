// 1,000 concurrent adds: all durable and readable afterwards, sharing directory fsyncs,
// and never holding the libuv pool or the event loop while they wait for their batch.
// Serial: the second test times a libuv call, which the first one's sync reads would delay.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openQueue } from '../../ts/queue/index.js';
import { tempDir } from '../helpers/home.js';

const N = 1000;

test.serial('1,000 concurrent adds are all committed and readable', async (t) => {
  const q = openQueue(join(tempDir(t), 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const queue = q.value;
  const adds = Array.from({ length: N }, (_, i) =>
    queue.add({ sender: `s${i}@x`, recipients: [`r${i}@y`] }, Buffer.from(`message ${i}\n`)),
  );
  const results = await Promise.all(adds);
  const ids = results.map((r, i) => {
    if (r.kind !== 'ok') throw new Error(`add ${i}: ${r.status} ${r.text}`);
    return r.value;
  });
  t.is(new Set(ids).size, N, 'ids are unique');
  t.is(queue.listTodo().length, N);
  ids.forEach((id, i) => {
    const todo = queue.readTodo(id);
    if (todo.kind !== 'ok') throw new Error(todo.text);
    if (todo.value.sender !== `s${i}@x` || todo.value.recipients[0] !== `r${i}@y`) t.fail(`envelope of ${i}`);
    if (readFileSync(queue.bodyPath(id), 'utf8') !== `message ${i}\n`) t.fail(`body of ${i}`);
  });
  const c = queue.counters();
  t.is(c.commits, N);
  t.is(c.fileFsyncs, 2 * N, 'body and envelope of every message were fsynced');
  t.true(c.dirFsyncs < 2 * N, `directory fsyncs shared: ${c.dirFsyncs} for ${N} commits`);
  t.log(`dir fsyncs for ${N} commits: ${c.dirFsyncs}`);
});

test.serial('pending commits hold no libuv thread and leave the event loop free', async (t) => {
  const dir = tempDir(t);
  const q = openQueue(join(dir, 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const queue = q.value;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let committed = 0;
  const adds = Array.from({ length: N }, (_, i) =>
    queue.add({ sender: '', recipients: [`r${i}@y`] }, Buffer.from('x')).then((o) => { committed++; return o; }));
  // fs.promises.stat runs on the libuv pool (4 threads, shared by every ava worker of this
  // process). Had each pending commit held a pool thread, the stat would wait for nearly all
  // 1,000 commits; it must finish while most are still pending. Counting the commits
  // resolved by then (not wall-clock shares) keeps other test files' load out of the check.
  const started = process.hrtime.bigint();
  await stat(dir);
  const statMs = Number(process.hrtime.bigint() - started) / 1e6;
  const before = committed;
  const done = await Promise.all(adds);
  const allMs = Number(process.hrtime.bigint() - started) / 1e6;
  clearInterval(timer);
  t.true(done.every((o) => o.kind === 'ok'));
  t.true(before < N / 2, `a libuv-pool call finished only after ${before} of ${N} commits`);
  t.true(ticks > 0, 'timers ran while the commits were in flight');
  t.log(`libuv stat during ${N} pending commits: ${statMs.toFixed(1)} ms, after ${before} commits (all: ${allMs.toFixed(0)} ms); timer ticks: ${ticks}`);
});
