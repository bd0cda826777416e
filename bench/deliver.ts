// Delivery benchmark: messages per second from inject to maildir, for N messages to U
// local users (default 20,000 to 100), through the embedding API (real queue, scheduler,
// worker pool, maildir writer), with CPU time and peak RSS of the process.
//
// Interface: runDeliverBench(opts) -> DeliverBenchResult; standalone:
//   node dist/bench/deliver.js [--messages N] [--users U] [--concurrency C] [--dir PATH]
// The figure counts from the first inject to the last message removed from the queue
// (every recipient delivered); injection runs concurrently (32 at a time), as an SMTP
// server under load would. The home is fresh (state it when quoting the figure).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMta } from '../ts/index.js';
import { addUser } from '../ts/users/index.js';
import { ensureHome } from '../ts/home/index.js';

export interface DeliverBenchOptions {
  readonly messages?: number;
  readonly users?: number;
  readonly concurrency?: number;
  /** Parent folder of the temporary home (default: the OS temp dir). */
  readonly dir?: string;
}

export interface DeliverBenchResult {
  readonly messages: number;
  readonly users: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
  readonly peakRssMiB: number;
}

/** Runs one benchmark on a fresh home and removes it afterwards. */
export async function runDeliverBench(opts: DeliverBenchOptions = {}): Promise<DeliverBenchResult> {
  const messages = opts.messages ?? 20_000;
  const users = opts.users ?? 100;
  const root = mkdtempSync(join(opts.dir ?? tmpdir(), 'qmta-bench-'));
  try {
    const home = join(root, 'home');
    const made = await ensureHome(home);
    if (made.kind !== 'ok') throw new Error(made.text);
    for (let i = 0; i < users; i++) {
      const r = await addUser(home, `u${i}`);
      if (r.kind !== 'ok') throw new Error(r.text);
    }
    const mta = await createMta({
      home, log: false,
      control: { me: 'bench.example', locals: ['bench.example'], concurrencylocal: opts.concurrency ?? 10 },
    });
    await mta.start();
    let done = 0;
    const finished = new Promise<void>((resolve) => mta.on('done', () => { if (++done === messages) resolve(); }));
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let next = 0;
    const body = (i: number) => Buffer.from(`From: bench@far.example\nSubject: bench ${i}\n\n${'x'.repeat(70)}\n`.repeat(1));
    const injector = async () => {
      while (next < messages) {
        const i = next++;
        await mta.inject({ from: 'bench@far.example', to: [`u${i % users}@bench.example`], message: body(i) });
      }
    };
    await Promise.all(Array.from({ length: 32 }, injector));
    await finished;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    await mta.stop(5000);
    return {
      messages, users, seconds, messagesPerSecond: messages / seconds,
      cpuUserSeconds: cpu.user / 1e6, cpuSystemSeconds: cpu.system / 1e6,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, users: { type: 'string' }, concurrency: { type: 'string' }, dir: { type: 'string' } },
  });
  const r = await runDeliverBench({
    ...(values.messages ? { messages: Number(values.messages) } : {}),
    ...(values.users ? { users: Number(values.users) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values.dir ? { dir: values.dir } : {}),
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
