// The log's line batching (ts/log/batched.ts): one encoded write a turn, in order, whole.

import test from 'ava';
import { setImmediate as turn } from 'node:timers/promises';
import { batched } from '../../ts/log/batched.js';

function sink(): { chunks: Buffer[]; write(chunk: Buffer): boolean } {
  const chunks: Buffer[] = [];
  return { chunks, write: (chunk) => chunks.push(chunk) > 0 };
}

test('the lines of one turn reach the file as one write, in order, with their UTF-8 bytes', async (t) => {
  const s = sink();
  const b = batched(s);
  b.write('{"msg":"one"}\n');
  b.write('{"msg":"été ✓"}\n');
  t.is(s.chunks.length, 0, 'nothing before the turn ends');
  await turn();
  t.is(s.chunks.length, 1);
  t.is(s.chunks[0]?.toString('utf8'), '{"msg":"one"}\n{"msg":"été ✓"}\n');
  b.write('{"msg":"three"}\n');
  await turn();
  t.deepEqual(s.chunks.map((c) => c.toString('utf8')), ['{"msg":"one"}\n{"msg":"été ✓"}\n', '{"msg":"three"}\n']);
});

test('16 Ki characters waiting are written at once, and flush() writes the rest now', async (t) => {
  const s = sink();
  const b = batched(s);
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 16; i++) b.write(line);
  t.is(s.chunks.length, 1, 'written as the 16th line came');
  t.is(s.chunks[0]?.length, 16 * 1024);
  b.write('tail\n');
  b.flush();
  t.is(s.chunks.length, 2);
  t.is(s.chunks[1]?.toString(), 'tail\n');
  await turn();
  t.is(s.chunks.length, 2, 'the scheduled turn finds nothing left');
});
