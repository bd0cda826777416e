// Start-up recovery through the TS wrapper: damaged entries (truncated envelope, missing
// body, unknown record) go to quarantine/ with a reason and a log line, without blocking
// the healthy messages; old half-written garbage is removed; a damaged entry met at run
// time is quarantined too.

import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openQueue, GARBAGE_AGE_MS, type DurableQueue, type QueueLog } from '../../ts/queue/index.js';
import { tempDir } from '../helpers/home.js';

function recordingLog(): QueueLog & { lines: { level: string; o: object; msg?: string }[] } {
  const lines: { level: string; o: object; msg?: string }[] = [];
  const at = (level: string) => (o: object, msg?: string) => void lines.push({ level, o, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function add(q: DurableQueue, i: number): Promise<string> {
  const o = await q.add({ sender: 's@x', recipients: [`r${i}@y`] }, Buffer.from(`body ${i}\n`));
  if (o.kind !== 'ok') throw new Error(o.text);
  return o.value;
}

/** The todo file of `id` (todo/<bucket>/<id>): the body path with mess/ swapped for todo/. */
function todoPath(q: DurableQueue, id: string): string {
  return q.bodyPath(id).replace(/\/mess\/(\d+)\//, '/todo/$1/');
}

test('damaged entries are quarantined with a reason and logged; the rest stays queued', async (t) => {
  const log = recordingLog();
  const root = join(tempDir(t), 'queue');
  const o = openQueue(root, { log });
  if (o.kind !== 'ok') return t.fail(o.text);
  const q = o.value;
  const [good, cut, bodiless, odd] = [await add(q, 0), await add(q, 1), await add(q, 2), await add(q, 3)];
  writeFileSync(todoPath(q, cut), 'u0\0p1\0Fs@x\0Tr1@');
  rmSync(q.bodyPath(bodiless));
  writeFileSync(todoPath(q, odd), 'u0\0p1\0Fs@x\0Zr3@y\0\0');
  const r = q.recover();
  const reasons = new Map(r.quarantined.map((e) => [e.id, e.reason]));
  t.regex(reasons.get(cut) ?? '', /truncated envelope/);
  t.regex(reasons.get(bodiless) ?? '', /missing body/);
  t.regex(reasons.get(odd) ?? '', /unexpected record 'Z'/);
  t.deepEqual(q.listTodo(), [good]);
  t.like(q.readTodo(good), { kind: 'ok', value: { sender: 's@x', recipients: ['r0@y'] } });
  t.regex(readFileSync(join(root, 'quarantine', cut, 'reason'), 'utf8'), /truncated/);
  t.is(readFileSync(join(root, 'quarantine', odd, 'mess'), 'utf8'), 'body 3\n');
  t.is(log.lines.filter((l) => l.level === 'warn').length, 3);
});

test('a damaged entry met at run time is quarantined and reported as temporary', async (t) => {
  const o = openQueue(join(tempDir(t), 'queue'));
  if (o.kind !== 'ok') return t.fail(o.text);
  const q = o.value;
  const id = await add(q, 0);
  await q.preprocess(id, { local: ['r0@y'], remote: [] });
  // A deferral settles the message: from then on its lists are read from disk.
  t.is((await q.setNextAttempt(id, 'local', Date.now())).kind, 'ok');
  writeFileSync(q.bodyPath(id).replace(/\/mess\//, '/local/'), 'Tr0@y');
  const r = q.recipients(id, 'local');
  t.like(r, { kind: 'temp', status: '4.3.0' });
  t.regex(r.kind === 'temp' ? r.text : '', /quarantine/);
  t.deepEqual(q.listQueued(), []);
});

test('old half-written garbage is removed, young garbage and queued messages kept', async (t) => {
  const o = openQueue(join(tempDir(t), 'queue'));
  if (o.kind !== 'ok') return t.fail(o.text);
  const q = o.value;
  const kept = await add(q, 0);
  const w = q.createWriter();
  if (w.kind !== 'ok') return t.fail(w.text);
  w.value.write(Buffer.alloc(100_000, 104)); // past 64 KiB: the body file exists
  // The writer is never committed nor aborted: a crashed add, as far as the disk knows.
  t.deepEqual(q.recover(), { removed: [], quarantined: [] }, 'young garbage may be an add in progress');
  const later = q.recover({ now: Date.now() + GARBAGE_AGE_MS + 60_000 });
  t.is(later.removed.length, 1);
  t.regex(later.removed[0] ?? '', new RegExp(`^mess/\\d+/${w.value.id}$`));
  t.deepEqual(q.listTodo(), [kept]);
  t.deepEqual(q.stats(), { messages: 1, todo: 1 });
});

test('collectGarbage, while the queue runs, removes old garbage only: committed, unsettled and settled messages stay', async (t) => {
  const o = openQueue(join(tempDir(t), 'queue'));
  if (o.kind !== 'ok') return t.fail(o.text);
  const q = o.value;
  const [committed, unsettled, settled] = [await add(q, 0), await add(q, 1), await add(q, 2)];
  await q.preprocess(unsettled, { local: ['r1@y'], remote: [] });
  await q.preprocess(settled, { local: ['r2@y'], remote: [] });
  t.is((await q.setNextAttempt(settled, 'local', Date.now())).kind, 'ok');
  const w = q.createWriter();
  if (w.kind !== 'ok') return t.fail(w.text);
  w.value.write(Buffer.alloc(100_000, 104)); // a crashed add's body
  t.deepEqual(await q.collectGarbage(), { kind: 'ok', value: [] }, 'young garbage may be an add in progress');
  const later = await q.collectGarbage({ now: Date.now() + GARBAGE_AGE_MS + 60_000 });
  t.is(later.kind === 'ok' ? later.value.length : -1, 1);
  t.regex(later.kind === 'ok' ? later.value[0] ?? '' : '', new RegExp(`^mess/\\d+/${w.value.id}$`));
  t.deepEqual(q.listTodo(), [committed], 'the unsettled message is this process\'s, so not listed');
  t.deepEqual(q.listQueued().sort(), [unsettled, settled].sort());
  t.deepEqual(q.stats(), { messages: 3, todo: 2 });
});
