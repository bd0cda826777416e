// bench/floor.ts on a tiny load without Postfix: the sink and the raw loops run, every floor
// is a positive machine time, and the ceilings follow from them (cores / sum of floors).

import test from 'ava';
import { availableParallelism } from 'node:os';
import { runFloorBench } from '../../bench/floor.js';

test('the floor bench measures both floors and derives the ceilings from them', async (t) => {
  const r = await runFloorBench({ messages: 60, connections: [3], runs: 1, users: 3, postfix: false });
  t.is(r.rows.length, 1);
  const row = r.rows[0]!;
  t.is(row.connections, 3);
  for (const f of [row.network, row.accept, row.message, row.sinkRate]) t.true(f.median > 0);
  const cores = availableParallelism() * 1e6;
  t.true(Math.abs(row.ceiling.median - cores / (row.network.median + row.message.median)) < 1e-6 * row.ceiling.median);
  t.true(Math.abs(row.acceptCeiling.median - cores / (row.network.median + row.accept.median)) < 1e-6 * row.acceptCeiling.median);
  t.is(row.postfix, undefined);
  t.regex(r.text, /^\| 3 \| .* \| - \| - \|$/m);
});
