// A 100 MB body streamed into the queue with flat memory. Measured in a child process, so
// the other test files that ava runs in this process cannot disturb the RSS figures.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';

const MB = 1024 * 1024;
const BODY = 100 * MB;
const SMALL = 48 * MB;

// Queues a SMALL body, then a BODY, each streamed in fresh 64 KiB chunks (as a socket would
// deliver them; fresh, so a queue that kept them would show), and reports the RSS before,
// the peak RSS of each add, and the most ArrayBuffer memory still live after a GC. Memory
// that grows with the body shows as the 100 MB add needing more than the 48 MB one.
// What the RSS must not count, and how it is kept out (Node 24.22.3, 2 cores at load 9-16):
// - The source's dead chunks, the test's own garbage: V8 frees an ArrayBuffer's memory after
//   a GC, by default on a background thread. With a gc() every 8 MB, 8-16 MB of dead chunks
//   stood in RSS at once, depending on when that thread ran (8 runs of the former test:
//   growth 12.6-20.6 MB; once +10.5 MB after its first 25 MB, failing). Now a gc() every MB,
//   with the sweeping done inside the GC (--no-concurrent-array-buffer-sweeping).
// - The optimizing compilers: their memory is V8's, paid once, at a moment that varies from
//   run to run. Maglev compiling the hot loop after about 500 chunks (32 MB) added 2-3 MB;
//   TurboFan's compile (an OSR of processTicksAndRejections, seen with --trace-opt) landed
//   in the second add in about half the runs and added 5.6-7.0 MB there, never without it.
//   The child runs with --max-opt=1 (no optimizing compiler), so RSS shows data only.
// - A forced GC may shrink the heap, which grows back during the next add: the second
//   add's peak is compared with the first's, not with the RSS of one moment.
const child = `
import { openQueue } from ${JSON.stringify(new URL('../../ts/queue/index.js', import.meta.url).href)};
import { Readable } from 'node:stream';
const q = openQueue(process.env.QROOT);
if (q.kind !== 'ok') throw new Error(q.text);
let peak = 0, live = 0;
async function* chunks(size) {
  for (let sent = 0; sent < size;) {
    const c = Buffer.allocUnsafe(64 * 1024).fill(97 + (sent % 26));
    sent += c.length;
    peak = Math.max(peak, process.memoryUsage.rss());
    if (sent % ${MB} === 0) {
      globalThis.gc();
      live = Math.max(live, process.memoryUsage().arrayBuffers);
    }
    yield c;
  }
}
async function add(size) {
  peak = process.memoryUsage.rss();
  const o = await q.value.add({ sender: 'a@b', recipients: ['c@d'] }, Readable.from(chunks(size)));
  if (o.kind !== 'ok') throw new Error(o.text);
  return { peak: Math.max(peak, process.memoryUsage.rss()), path: q.value.bodyPath(o.value) };
}
const base = process.memoryUsage.rss();
const small = await add(${SMALL});
const big = await add(${BODY});
console.log(JSON.stringify({ base, small: small.peak, big: big.peak, live, path: big.path }));
`;

test('a 100 MB streamed body queues with memory staying flat', (t) => {
  const root = join(tempDir(t), 'queue');
  const out = execFileSync(process.execPath, ['--expose-gc', '--no-concurrent-array-buffer-sweeping', '--max-opt=1', '--input-type=module',
    '-e', child], {
    env: { ...process.env, QROOT: root },
    encoding: 'utf8',
    timeout: 50_000,
  });
  const r = JSON.parse(out) as { base: number; small: number; big: number; live: number; path: string };
  t.is(statSync(r.path).size, BODY);
  const growth = r.big - r.base;
  const more = r.big - r.small;
  const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;
  t.log(`RSS ${mb(r.base)} before; peak growth ${mb(growth)}; the ${BODY / MB} MB body needed ${mb(more)} more than ` +
    `the ${SMALL / MB} MB one; live ArrayBuffers after a GC at most ${mb(r.live)}`);
  // The body never accumulates: no chunk stays alive in JS (exact), and the process (the
  // core's buffers included) needs a few MB of stream machinery, the same for both sizes.
  t.true(r.live < 4 * MB, `${mb(r.live)} of chunks still alive after a GC`);
  t.true(growth < BODY / 4, `RSS grew by ${mb(growth)}`);
  t.true(more < BODY / 10, `the ${BODY / MB} MB body needed ${mb(more)} more than the ${SMALL / MB} MB one`);
});
