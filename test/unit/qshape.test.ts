// `qmta qshape` against a queue built to a known shape: messages with known ages (their
// info/ mtime, the birth time as in qmail) and recipients over known domains, some done.

import test from 'ava';
import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { openQueue } from '../../ts/queue/index.js';
import type { DurableQueue } from '../../ts/queue/types.js';
import { runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';

interface Msg { ageMin: number; sender: string; local?: string[]; remote?: string[]; doneRemote?: number[] }

const SHAPE: Msg[] = [
  { ageMin: 1, sender: 's@one.example', remote: ['x@a.example', 'y@b.example'] },
  { ageMin: 7, sender: 's@one.example', remote: ['x@a.example'] },
  { ageMin: 7, sender: 's@two.example', remote: ['z@a.example', 'w@A.EXAMPLE'] },
  { ageMin: 30, sender: 's@two.example', remote: ['q@c.example'] },
  { ageMin: 3000, sender: 's@two.example', remote: ['x@b.example'] },
  { ageMin: 50, sender: 's@one.example', remote: ['x@c.example', 'y@b.example'], doneRemote: [0] },
  { ageMin: 1, sender: 's@one.example', local: ['u@localhost'] },
  { ageMin: 90, sender: 's@one.example', remote: ['gone@d.example'], doneRemote: [0] },
];

function infoFile(root: string, id: string): string {
  for (const b of readdirSync(join(root, 'info'))) {
    if (readdirSync(join(root, 'info', b)).includes(id)) return join(root, 'info', b, id);
  }
  throw new Error(`no info/ file for ${id}`);
}

async function build(home: string, now: number): Promise<void> {
  const root = join(home, 'queue');
  const opened = openQueue(root);
  if (opened.kind !== 'ok') throw new Error(opened.text);
  const q: DurableQueue = opened.value;
  for (const m of SHAPE) {
    const added = await q.add({ sender: m.sender, recipients: [...(m.local ?? []), ...(m.remote ?? [])] }, Buffer.from('Subject: x\n\nx\n'));
    if (added.kind !== 'ok') throw new Error(added.text);
    const id = added.value;
    await q.preprocess(id, { local: m.local ?? [], remote: m.remote ?? [] });
    await q.setNextAttempt(id, m.remote ? 'remote' : 'local', now + 60_000);
    for (const i of m.doneRemote ?? []) await q.markDone(id, 'remote', i);
    const birth = (now - m.ageMin * 60_000) / 1000;
    utimesSync(infoFile(root, id), birth, birth);
  }
}

interface Json { edgesMin: number[]; total: number[]; pending: { local: number; remote: number }; rows: { domain: string; total: number; counts: number[] }[] }

test('the remote queue\'s shape: rows by domain, columns by geometric age bucket, done recipients left out', async (t) => {
  const home = tempDir(t);
  await build(home, Date.now());
  const r = await runQmta(['--home', home, 'qshape', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Json;
  t.deepEqual(j.edgesMin, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560]);
  //                     <5 <10 <20 <40 <80 ... 2560+
  t.deepEqual(j.total, [1, 2, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
  t.deepEqual(j.rows, [
    { domain: 'a.example', total: 3, counts: [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    { domain: 'b.example', total: 3, counts: [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1] },
    { domain: 'c.example', total: 1, counts: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0] },
  ]);
  t.deepEqual(j.pending, { local: 0, remote: 8 });

  const text = await runQmta(['--home', home, 'qshape', '-t', '10', '-b', '3', '--top', '1']);
  t.is(text.code, 0, text.stderr);
  t.is(text.stdout, [
    '           T  10  20  40  40+',
    'TOTAL      6   3   0   1    2',
    'a.example  3   3   0   0    0',
    '',
  ].join('\n'));
});

test('local queue, sender domains, all channels; bad options exit 100', async (t) => {
  const home = tempDir(t);
  await build(home, Date.now());
  const local = JSON.parse((await runQmta(['--home', home, 'qshape', 'local', '--json'])).stdout) as Json;
  t.deepEqual(local.rows.map((r) => [r.domain, r.total]), [['localhost', 1]]);
  const senders = JSON.parse((await runQmta(['--home', home, 'qshape', 'all', '-s', '--json'])).stdout) as Json;
  t.deepEqual(senders.rows.map((r) => [r.domain, r.total]), [['two.example', 3], ['one.example', 4]].sort((a, b) => (b[1] as number) - (a[1] as number)));
  for (const bad of [['nowhere'], ['-b', '0'], ['-t', 'x'], ['-b', '41']]) {
    t.is((await runQmta(['--home', home, 'qshape', ...bad])).code, 100, bad.join(' '));
  }
});
