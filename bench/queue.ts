// Queue add benchmark: fsync'd adds per second through the TS Queue (ts/queue), at 1 and
// at 64 adds in flight, next to the raw limit of the disk measured in the same run by a
// minimal loop in Rust threads doing the same system calls per message (create, write,
// fsync the body; create, write, fsync the envelope; link it; fsync the link's
// directory) at the same concurrency, each message paying its own directory fsync.
//
// Interface: `runQueueBench(opts)` -> { rows, state, load }; standalone:
// `node dist/bench/queue.js [--runs 3] [--count 2000] [--levels 1,64] [--body 4096] [--dir D] [--steady]`.
// Method: by default every measurement gets fresh directories (a new queue, a new raw
// folder). With --steady, each level keeps one queue and one raw folder for all its runs,
// after one warm-up run that is not counted, so later runs add to directories that already
// hold thousands of entries. Nothing is deleted until all runs are over, because ext4 here
// slows creates down for minutes after mass deletions (DESIGN.md). Raw and queue alternate within each run so disk drift hits both; each
// figure is the median of the runs with min-max, and the ratio is taken per run.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { queueRawLoop } from '../ts/native.js';
import { openQueue } from '../ts/queue/index.js';

export interface QueueBenchOptions {
  readonly runs?: number;
  /** Messages per measurement at the highest level (level 1 uses a tenth, at least 100). */
  readonly count?: number;
  readonly levels?: readonly number[];
  readonly bodyBytes?: number;
  /** Where the queues go; must be on the disk being measured. */
  readonly dir?: string;
  /** Reuse one queue per level across runs (after a warm-up run) instead of fresh ones. */
  readonly steady?: boolean;
  readonly log?: (line: string) => void;
}

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface QueueBenchRow {
  readonly inFlight: number;
  /** Queue adds per second. */
  readonly queue: Figure;
  /** Raw-loop adds per second, same concurrency. */
  readonly raw: Figure;
  /** queue / raw, per run. */
  readonly ratio: Figure;
}

export interface QueueBenchResult {
  readonly rows: QueueBenchRow[];
  readonly state: 'fresh directories' | 'steady state (directories reused after a warm-up run)';
  /** 1-minute load average before and after. */
  readonly load: readonly [number, number];
}

function figure(xs: number[]): Figure {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 };
}

/** Queue adds/s: `count` adds through openQueue with at most `inFlight` pending. */
async function measureQueue(dir: string, count: number, inFlight: number, body: Buffer): Promise<number> {
  const q = openQueue(join(dir, 'queue'));
  if (q.kind !== 'ok') throw new Error(`openQueue: ${q.status} ${q.text}`);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      const o = await q.value.add({ sender: 'bench@example.com', recipients: ['rcpt@example.net'] }, body);
      if (o.kind !== 'ok') throw new Error(`add: ${o.status} ${o.text}`);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (count / (performance.now() - start)) * 1000;
}

/** Raw-loop adds/s at `threads` threads. */
async function measureRaw(dir: string, count: number, threads: number, bodyBytes: number): Promise<number> {
  const ms = await queueRawLoop('add', dir, count, threads, bodyBytes);
  return (count / ms) * 1000;
}

/** Runs the benchmark; see the header for the method. */
export async function runQueueBench(opts: QueueBenchOptions = {}): Promise<QueueBenchResult> {
  const { runs = 3, count = 2000, levels = [1, 64], bodyBytes = 4096, log = () => {} } = opts;
  const body = Buffer.alloc(bodyBytes, 'x');
  const base = mkdtempSync(join(opts.dir ?? tmpdir(), 'qmta-bench-queue-'));
  const load0 = loadavg()[0] ?? 0;
  const samples = new Map(levels.map((l) => [l, { queue: [] as number[], raw: [] as number[], ratio: [] as number[] }]));
  const steadyDirs = new Map(levels.map((l) => [l, { raw: mkdtempSync(join(base, 'r')), queue: mkdtempSync(join(base, 'q')) }]));
  const dirsFor = (level: number) =>
    opts.steady ? steadyDirs.get(level)! : { raw: mkdtempSync(join(base, 'r')), queue: mkdtempSync(join(base, 'q')) };
  try {
    for (let run = opts.steady ? -1 : 0; run < runs; run++) {
      for (const level of levels) {
        const n = level === 1 ? Math.max(100, Math.round(count / 10)) : count;
        const d = dirsFor(level);
        const raw = await measureRaw(d.raw, n, level, bodyBytes);
        const queue = await measureQueue(d.queue, n, level, body);
        log(`run ${run + 1} in flight ${level}: queue ${queue.toFixed(0)}/s raw ${raw.toFixed(0)}/s${run < 0 ? ' (warm-up)' : ''}`);
        if (run < 0) continue;
        const s = samples.get(level)!;
        s.raw.push(raw);
        s.queue.push(queue);
        s.ratio.push(queue / raw);
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const rows = levels.map((inFlight) => {
    const s = samples.get(inFlight)!;
    return { inFlight, queue: figure(s.queue), raw: figure(s.raw), ratio: figure(s.ratio) };
  });
  const state = opts.steady ? 'steady state (directories reused after a warm-up run)' : 'fresh directories';
  return { rows, state, load: [load0, loadavg()[0] ?? 0] };
}

/** The result as a small text table. */
export function formatQueueBench(r: QueueBenchResult, bodyBytes: number, runs: number): string {
  const f = (x: Figure, d = 0) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}-${x.max.toFixed(d)})`;
  const lines = [
    `queue adds/s with fsync, ${bodyBytes}-byte bodies, ${runs} runs, ${r.state}; load ${r.load[0].toFixed(2)} -> ${r.load[1].toFixed(2)}`,
    'in flight | queue adds/s median (min-max) | raw limit adds/s median (min-max) | queue/raw median (min-max)',
    ...r.rows.map((row) => `${String(row.inFlight).padStart(9)} | ${f(row.queue).padEnd(29)} | ${f(row.raw).padEnd(33)} | ${f(row.ratio, 2)}`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      count: { type: 'string', default: '2000' },
      levels: { type: 'string', default: '1,64' },
      body: { type: 'string', default: '4096' },
      dir: { type: 'string' },
      steady: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const bodyBytes = Number(values.body);
  const levels = values.levels.split(',').map(Number);
  const log = (line: string) => console.error(line);
  const r = await runQueueBench({ runs, count: Number(values.count), levels, bodyBytes, dir: values.dir, steady: values.steady, log });
  console.log(formatQueueBench(r, bodyBytes, runs));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
