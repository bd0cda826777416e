// Maildir delivery benchmark: qmta's deliveries per second, sync (worker threads, as the
// local delivery pool) and async (the core's threads, N in flight), next to the raw limit
// of the disk measured in the same run by worker threads doing the same system calls
// (create O_EXCL, write, fsync, close, link, fsync new/, unlink) with nothing else.
//
// Interface: `runMaildirBench(opts)` -> rows of {mode, concurrency, median, min, max,
// raw, ratio}; run standalone: `node dist/bench/maildir.js [--runs 3] [--seconds 1]
// [--levels 1,8,32] [--body 4096] [--dir /path]`.
// Method: every measurement writes into a fresh maildir (fresh directories, not a steady
// state: ext4 here slows down right after mass deletions, DESIGN.md); modes are
// interleaved within each run so disk drift hits all of them; the figures are the
// median of the runs with min-max. Raw and sync use one thread per unit of concurrency;
// async is bounded by the core's operations pool (crates/queue/src/pool.rs: 4 threads a
// core, 8 to 16), which runs the maildir deliveries the event loop starts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { deliveryHeaders, mailbox } from '../ts/mailbox/index.js';
import type { WorkerJob, WorkerReport } from './maildir-worker.js';

export interface MaildirBenchOptions {
  readonly runs?: number;
  readonly durationMs?: number;
  readonly levels?: readonly number[];
  readonly bodyBytes?: number;
  /** Where the maildirs go; must be on the disk being measured. */
  readonly dir?: string;
  readonly log?: (line: string) => void;
}

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface MaildirBenchRow extends Figure {
  readonly mode: 'sync' | 'async';
  readonly concurrency: number;
  /** The raw limit at the same number of threads (async: capped at the libuv pool size). */
  readonly raw: Figure;
  /** median / raw median. */
  readonly ratio: number;
}

const WORKER = new URL('./maildir-worker.js', import.meta.url);
const POOL = Math.min(16, Math.max(8, 4 * availableParallelism()));

/** Starts `n` bench workers; they stay up for the whole benchmark (startup is not measured). */
async function startWorkers(n: number): Promise<Worker[]> {
  const workers = Array.from({ length: n }, () => new Worker(WORKER, { workerData: { role: 'qmta-maildir-bench' } }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  return workers;
}

/** Runs `job` on one worker; rejects if the worker dies. */
function runOn(w: Worker, job: WorkerJob): Promise<WorkerReport> {
  return new Promise<WorkerReport>((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    w.once('error', fail);
    w.once('message', (r: WorkerReport) => {
      w.off('error', fail);
      resolve(r);
    });
    w.postMessage(job);
  });
}

/** Deliveries per second of `threads` workers running `mode` for the job's duration. */
async function inWorkers(pool: Worker[], mode: 'raw' | 'sync', threads: number, job: Omit<WorkerJob, 'mode' | 'maildir'>, dir: string): Promise<number> {
  const reports = await Promise.all(pool.slice(0, threads).map((w) => runOn(w, { ...job, mode, maildir: dir })));
  const count = reports.reduce((n, r) => n + r.count, 0);
  return count / (Math.max(...reports.map((r) => r.elapsedMs)) / 1000);
}

/** Deliveries per second with `inFlight` async deliveries kept going on the main thread. */
async function inFlight(n: number, job: Omit<WorkerJob, 'mode' | 'maildir'>, maildir: string): Promise<number> {
  const start = performance.now();
  let count = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() - start < job.durationMs) {
      const r = await mailbox.deliverMaildir({ maildir, headers: job.headers, bodyPath: job.bodyPath });
      if (r.kind !== 'ok') throw new Error(`delivery failed: ${r.status} ${r.text}`);
      count++;
    }
  };
  await Promise.all(Array.from({ length: n }, lane));
  return count / ((performance.now() - start) / 1000);
}

function figure(xs: number[]): Figure {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

function show(f: Figure): string {
  return `${f.median.toFixed(0)}/s (${f.min.toFixed(0)}-${f.max.toFixed(0)})`;
}

/** Runs the benchmark; see the file header. */
export async function runMaildirBench(opts: MaildirBenchOptions = {}): Promise<MaildirBenchRow[]> {
  const { runs = 3, durationMs = 1000, levels = [1, 8, 32], bodyBytes = 4096, log = console.log } = opts;
  const base = mkdtempSync(join(opts.dir ?? tmpdir(), 'qmta-bench-maildir-'));
  const bodyPath = join(base, 'body');
  writeFileSync(bodyPath, Buffer.alloc(bodyBytes, 'A line of a message body, 40 bytes....\n'));
  const job = { headers: deliveryHeaders('bench@example.org', 'user@example.net'), bodyPath, durationMs };
  const fresh = (prefix: string) => mkdtempSync(join(base, prefix));
  const rawThreads = new Map(levels.map((c) => [c, [...new Set([c, Math.min(c, POOL)])]]));
  const samples = new Map<string, number[]>();
  const pool = await startWorkers(Math.max(...levels));
  const add = (k: string, v: number) => samples.set(k, [...(samples.get(k) ?? []), v]);
  try {
    for (let run = 0; run < runs; run++) {
      for (const c of levels) {
        // Each level's modes run back to back, so the raw limit is taken under the
        // same disk and machine conditions as the figures it is compared with.
        for (const t of rawThreads.get(c)!) add(`raw:${t}`, await inWorkers(pool, 'raw', t, job, fresh('raw-')));
        add(`sync:${c}`, await inWorkers(pool, 'sync', c, job, fresh('sync-')));
        add(`async:${c}`, await inFlight(c, job, fresh('async-')));
      }
      log(`maildir bench: run ${run + 1}/${runs} done`);
    }
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
    rmSync(base, { recursive: true, force: true });
  }
  const rows = levels.flatMap((c) =>
    (['sync', 'async'] as const).map((mode): MaildirBenchRow => {
      const f = figure(samples.get(`${mode}:${c}`)!);
      const raw = figure(samples.get(`raw:${mode === 'async' ? Math.min(c, POOL) : c}`)!);
      return { mode, concurrency: c, ...f, raw, ratio: f.median / raw.median };
    }),
  );
  log(`maildir deliveries, ${bodyBytes}-byte body, fresh maildirs, ${runs} runs of ${durationMs} ms, core pool ${POOL}:`);
  for (const r of rows) {
    const rawAt = r.mode === 'async' ? Math.min(r.concurrency, POOL) : r.concurrency;
    log(`  ${r.mode.padEnd(5)} x${String(r.concurrency).padEnd(3)} ${show(r).padEnd(22)} raw x${rawAt}: ${show(r.raw).padEnd(22)} ${(100 * r.ratio).toFixed(0)}%`);
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '1' },
      levels: { type: 'string', default: '1,8,32' },
      body: { type: 'string', default: '4096' },
      dir: { type: 'string' },
    },
  });
  await runMaildirBench({
    runs: Number(values.runs),
    durationMs: Number(values.seconds) * 1000,
    levels: values.levels.split(',').map(Number),
    bodyBytes: Number(values.body),
    dir: values.dir,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
