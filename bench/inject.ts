// Inject rate: messages per second queued
//   - 'process': `qmta inject` as one process per message, `concurrency` processes at a time;
//   - 'sendmail': the `sendmail` bin as one process per message (how cron, PHP and git call
//     it; it loads only the inject modules, not every qmta subcommand);
//   - 'injector': the in-process injector (ts/inject/injector.ts: qmail-inject fixups in
//     the tinypool worker, body streamed into the queue), `concurrency` injects in flight;
//   - 'mta-send': the embedding API's Mta.send (createMta, not started): the injector's path
//     through the public API;
//   - 'mta': the embedding API's Mta.inject (qmail-queue's behaviour, no header rewriting),
//     for comparison.
// Every run uses a fresh home (fresh directories; see DESIGN.md "Measuring"); the figure is
// the median of `runs` with min-max.
//
// Interface: runInjectBench(opts) -> rows; standalone: node dist/bench/inject.js
//   [--runs 3] [--messages 200] [--process-messages 20] [--levels 1,8] [--body 2048]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../ts/config/index.js';
import { createMta } from '../ts/index.js';
import { createInjector } from '../ts/inject/injector.js';
import { openQueue } from '../ts/queue/index.js';

const MAIN = new URL('../ts/cli/main.js', import.meta.url).pathname;
const SENDMAIL = new URL('../ts/cli/sendmail.js', import.meta.url).pathname;

export type InjectMode = 'process' | 'sendmail' | 'injector' | 'mta-send' | 'mta';

export interface InjectBenchOptions {
  readonly runs?: number;
  /** Messages per run for the in-process modes. */
  readonly messages?: number;
  /** Messages per run for the process-per-message mode (each costs a Node start-up). */
  readonly processMessages?: number;
  readonly levels?: readonly number[];
  readonly bodyBytes?: number;
  readonly log?: (line: string) => void;
}

export interface InjectBenchRow {
  readonly mode: InjectMode;
  readonly concurrency: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function message(bodyBytes: number, i: number): Buffer {
  const line = 'The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\n';
  const body = line.repeat(Math.ceil(bodyBytes / line.length)).slice(0, bodyBytes);
  return Buffer.from(`To: user${i}@example.org, list\nSubject: bench ${i}\n\n${body}`);
}

function injectProcess(home: string, msg: Buffer, viaSendmail: boolean): Promise<void> {
  const args = viaSendmail ? [SENDMAIL, '-t'] : [MAIN, '--home', home, 'inject'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', USER: 'bench', QMTA_HOME: home } });
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited ${code}: ${Buffer.concat(err).toString().trim()}`))));
    child.stdin.end(msg);
  });
}

/** Runs `count` tasks, `concurrency` at a time; returns messages/s. */
async function rate(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return count / ((performance.now() - start) / 1000);
}

async function oneRun(mode: InjectMode, concurrency: number, o: Required<Omit<InjectBenchOptions, 'log' | 'levels'>>): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), 'qmta-bench-inject-'));
  try {
    if (mode === 'process' || mode === 'sendmail') {
      return await rate(o.processMessages, concurrency, (i) => injectProcess(home, message(o.bodyBytes, i), mode === 'sendmail'));
    }
    if (mode === 'mta' || mode === 'mta-send') {
      const mta = await createMta({ home, log: false });
      const r = await rate(o.messages, concurrency, async (i) => {
        if (mode === 'mta-send') await mta.send(message(o.bodyBytes, i), { env: { USER: 'bench' } });
        else await mta.inject({ from: 'bench@example.org', to: [`user${i}@example.org`], message: message(o.bodyBytes, i) });
      });
      await mta.stop();
      return r;
    }
    const config = await loadConfig(home);
    const queue = openQueue(join(home, 'queue'));
    if (config.kind !== 'ok' || queue.kind !== 'ok') throw new Error('cannot open the bench home');
    const injector = createInjector({ queue: queue.value, controls: () => config.value });
    const r = await rate(o.messages, concurrency, async (i) => {
      const res = await injector.inject(message(o.bodyBytes, i), { env: { USER: 'bench' } });
      if (res.kind !== 'ok') throw new Error(res.text);
    });
    await injector.close();
    return r;
  } finally {
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** Measures every mode at every concurrency level. */
export async function runInjectBench(opts: InjectBenchOptions = {}): Promise<InjectBenchRow[]> {
  const o = { runs: opts.runs ?? 3, messages: opts.messages ?? 200, processMessages: opts.processMessages ?? 20, bodyBytes: opts.bodyBytes ?? 2048 };
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const rows: InjectBenchRow[] = [];
  for (const mode of ['process', 'sendmail', 'injector', 'mta-send', 'mta'] as const) {
    for (const concurrency of opts.levels ?? [1, 8]) {
      const figures: number[] = [];
      for (let i = 0; i < o.runs; i++) figures.push(await oneRun(mode, concurrency, o));
      figures.sort((a, b) => a - b);
      const row = { mode, concurrency, median: figures[Math.floor(figures.length / 2)] ?? 0, min: figures[0] ?? 0, max: figures[figures.length - 1] ?? 0 };
      rows.push(row);
      log(`inject ${mode.padEnd(8)} x${String(concurrency).padEnd(3)} ${row.median.toFixed(1)} msg/s (${row.min.toFixed(1)}-${row.max.toFixed(1)}), ${o.runs} runs, fresh homes, ${o.bodyBytes}-byte body`);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      messages: { type: 'string', default: '200' },
      'process-messages': { type: 'string', default: '20' },
      levels: { type: 'string', default: '1,8' },
      body: { type: 'string', default: '2048' },
    },
  });
  await runInjectBench({
    runs: Number(values.runs), messages: Number(values.messages), processMessages: Number(values['process-messages']),
    levels: values.levels.split(',').map(Number), bodyBytes: Number(values.body),
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
