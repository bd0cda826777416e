// `qmta stats` speed: log lines per second over a generated log (bench/stats-load.ts) of
// 5 million lines, plain and gzip'd, through the same code the command runs (runStats), with
// its CPU time and peak RSS. Issue 17 asks for at least 300,000 lines/s on this machine.
//
// Interface: `node dist/bench/stats.js [--lines 5000000] [--runs 3] [--dir D]`; one row per
// form (plain, gzip) with the median lines/s (min-max), CPU seconds and peak RSS.
// Method: the log is generated once into a fresh folder (not timed, written without
// buffering, so the RSS figure is the reader's), then read --runs times
// per form; each run is checked: its line and message counts must equal the generator's.
// Failures: a count that differs stops the benchmark with an error (a fast wrong answer is
// no figure).

import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { runStats } from '../ts/stats/run.js';
import { generateLog, type Expected } from './stats-load.js';

export interface StatsBenchRow {
  readonly form: string;
  readonly linesPerSecond: number[];
  readonly cpuSeconds: number[];
  readonly peakRssMiB: number;
}

/** Writes a log of about `lines` lines into dir/qmta.log; resolves with the generator's figures. */
function writeLog(dir: string, lines: number): Expected {
  const probe = generateLog({ messages: 1000 }, () => {}).lines;
  const messages = Math.ceil((lines / probe) * 1000);
  // Synchronous writes: a stream would buffer the whole log in memory and spoil the RSS figure.
  const fd = openSync(join(dir, 'qmta.log'), 'w');
  try {
    return generateLog({ messages }, (text) => writeSync(fd, text));
  } finally {
    closeSync(fd);
  }
}

async function once(file: string, e: Expected): Promise<{ rate: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const r = await runStats({ home: tmpdir(), files: [file], window: {}, top: 20, format: 'json' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  if (r.kind !== 'ok') throw new Error(r.text);
  const got = r.value.report;
  if (got.input.lines !== e.lines || got.overall.messages !== e.messages || got.overall.deliveries.success !== e.success) {
    throw new Error(`wrong counts: ${got.input.lines} lines, ${got.overall.messages} messages; expected ${e.lines}, ${e.messages}`);
  }
  return { rate: got.input.lines / seconds, cpu: (used.user + used.system) / 1e6 };
}

/** Generates the log, then reads it `runs` times plain and `runs` times gzip'd. */
export async function runStatsBench(opts: { lines?: number; runs?: number; dir?: string }): Promise<{ lines: number; bytes: number; rows: StatsBenchRow[] }> {
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), 'qmta-bench-stats-'));
  try {
    const e = writeLog(dir, opts.lines ?? 5_000_000);
    const plain = join(dir, 'qmta.log');
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(join(dir, 'qmta.log.1.gz')));
    const rows: StatsBenchRow[] = [];
    for (const [form, file] of [['plain', plain], ['gzip', join(dir, 'qmta.log.1.gz')]] as const) {
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
      const runs = [];
      for (let i = 0; i < (opts.runs ?? 3); i++) runs.push(await once(file, e));
      clearInterval(sampler);
      rows.push({ form, linesPerSecond: runs.map((r) => r.rate), cpuSeconds: runs.map((r) => r.cpu), peakRssMiB: peak / 2 ** 20 });
    }
    return { lines: e.lines, bytes: statSync(plain).size, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { lines: { type: 'string' }, runs: { type: 'string' }, dir: { type: 'string' } } });
  const load = loadavg()[0]!.toFixed(1);
  const r = await runStatsBench({
    ...(values.lines ? { lines: Number(values.lines) } : {}), ...(values.runs ? { runs: Number(values.runs) } : {}),
    ...(values.dir ? { dir: values.dir } : {}),
  });
  console.log(`# qmta stats over ${fmt(r.lines)} generated lines (${(r.bytes / 2 ** 20).toFixed(0)} MiB plain), load average ${load} at start`);
  console.log('| form | lines/s median (min-max) | CPU s per run | peak RSS MiB |');
  console.log('|---|---|---|---|');
  for (const row of r.rows) {
    const l = row.linesPerSecond;
    console.log(`| ${row.form} | ${fmt(median(l))} (${fmt(Math.min(...l))}-${fmt(Math.max(...l))}) | ${median(row.cpuSeconds).toFixed(1)} | ${row.peakRssMiB.toFixed(0)} |`);
  }
}
