// SMTP acceptance benchmark: messages per second until every 250 is received, for qmta's
// SMTP server (ts/smtpd over a fresh durable queue: every 250 follows an fsync'd commit)
// driven by Postfix's smtp-source (bench/load-smtp-source.ts), with the server's CPU time
// and peak RSS. The end-to-end figure and the Postfix comparison belong to the lead's
// harness (bench/load-e2e.ts, bench/peer-postfix.ts).
//
// Interface: `runSmtpBench(opts)` -> rows; standalone:
// `node dist/bench/smtp.js [--messages 20000] [--size 4096] [--levels 1,10,50] [--runs 1] [--reuse]`.
// Method: fresh queue directories per measurement ("fresh directories"); the server runs in
// this process, so its CPU is this process's CPU during the run (smtp-source is a child).
// Failures: a 4xx/5xx or a dropped connection makes smtp-source and so the run fail.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openQueue } from '../ts/queue/index.js';
import { startSmtpd } from '../ts/smtpd/index.js';
import { runSmtpSource } from './load-smtp-source.js';

export interface SmtpBenchOptions {
  readonly messages?: number;
  readonly size?: number;
  readonly levels?: readonly number[];
  readonly runs?: number;
  /** Several messages per connection (smtp-source -d); default: one connection per message. */
  readonly reuse?: boolean;
}

export interface SmtpBenchRow {
  readonly connections: number;
  readonly rate: number;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
  readonly peakRssMiB: number;
}

async function measure(connections: number, o: Required<SmtpBenchOptions>, dirs: string[]): Promise<SmtpBenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'qmta-bench-smtp-'));
  dirs.push(dir);
  const q = openQueue(join(dir, 'queue'));
  if (q.kind !== 'ok') throw new Error(q.text);
  const server = await startSmtpd(
    { hostname: 'bench.test', smtp: [{ host: '127.0.0.1', port: 0 }], rcpthosts: ['bench.test'], maxConnections: 1000, maxPerIp: 1000 },
    { queue: q.value },
  );
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const cpu = process.cpuUsage();
  try {
    const r = await runSmtpSource({
      host: '127.0.0.1', port: server.addresses[0]!.port, messages: o.messages, size: o.size,
      connections, recipients: ['user@bench.test'], reuse: o.reuse,
    });
    const used = process.cpuUsage(cpu);
    const count = q.value.listTodo().length;
    if (count !== o.messages) throw new Error(`${count} messages in the queue, ${o.messages} sent`);
    return { connections, rate: r.rate, seconds: r.seconds, serverCpuSeconds: (used.user + used.system) / 1e6, peakRssMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(sampler);
    await server.close();
  }
}

/** Runs every level `runs` times; rows in run order. */
export async function runSmtpBench(opts: SmtpBenchOptions = {}): Promise<SmtpBenchRow[]> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o: Required<SmtpBenchOptions> = { messages: 20_000, size: 4096, levels: [1, 10, 50], runs: 1, reuse: false, ...given };
  const dirs: string[] = [];
  const rows: SmtpBenchRow[] = [];
  try {
    for (let run = 0; run < o.runs; run++) for (const c of o.levels) rows.push(await measure(c, o, dirs));
  } finally {
    // Deleted only at the end: ext4 here slows creates down after mass deletions (DESIGN.md).
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, size: { type: 'string' }, levels: { type: 'string' }, runs: { type: 'string' }, reuse: { type: 'boolean' } },
  });
  const rows = await runSmtpBench({
    messages: values.messages ? Number(values.messages) : undefined,
    size: values.size ? Number(values.size) : undefined,
    levels: values.levels?.split(',').map(Number),
    runs: values.runs ? Number(values.runs) : undefined,
    reuse: values.reuse,
  });
  console.log(`# qmta SMTP acceptance (fresh directories, load average ${loadavg()[0]!.toFixed(1)})`);
  for (const r of rows) {
    console.log(`connections ${r.connections}: ${r.rate.toFixed(0)} msg/s (${r.seconds.toFixed(1)} s), server CPU ${r.serverCpuSeconds.toFixed(1)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
  }
}
