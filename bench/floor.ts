// The machine's ceilings for issue 4's targets: how fast any Node SMTP server that keeps
// qmta's promise could accept and deliver here, whatever its code. For each connection
// count and run it measures, one at a time:
// - the network floor: the bare Node sink (bench/peer-sink.ts, no disk work) loaded by
//   smtp-source as the end-to-end bench loads qmta (one connection per message);
// - two disk floors, raw loops (crates/queue rawloop.rs) on as many threads as there are
//   connections, group-committed, nothing else: "accept", the file work and fsyncs the
//   promise asks before a 250 (a queue add, its directories fsync'd); "message", that plus
//   the maildir write and the removal of the queue files;
// - Postfix end to end (bench/peer-postfix.ts, as in bench/smtp-e2e.ts), unless --no-postfix.
// Each floor is the machine's busy CPU time per message (/proc/stat: every process and the
// kernel's interrupt work, smtp-source included), and
//   end-to-end ceiling = cores / (network floor + message floor)
//   acceptance ceiling = cores / (network floor + accept floor)
// are the rates at which that work alone would keep every core busy: no parsing beyond the
// sink's, no routing, scheduling, logging or delivery decisions, perfect overlap. Upper
// bounds for any implementation of the promise in Node on this machine, to hold against
// 3x Postfix end to end and the sink's own acceptance rate.
//
// Interface: `runFloorBench(opts)` -> { rows, text }; standalone:
// `node dist/bench/floor.js [--messages 20000] [--size 4096] [--connections 10,50] [--runs 3]
// [--users 50] [--dir D] [--no-postfix]`. Postfix needs root.
// Method: fresh directories per measurement; figures are the median (min–max) of the runs,
// the ceiling and ceiling/Postfix are taken per run. Directories are removed at the end
// (ext4 here creates files slowly for minutes after mass deletions).
// Failures: a refused message, a sink or Postfix failing to start, an I/O error in the
// raw loop -> throws (everything started is stopped and removed).

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { queueRawLoop } from '../ts/native.js';
import { machineCpuSeconds } from './load-proc.js';
import { runSmtpSource } from './load-smtp-source.js';
import { startNodeSink, type NodeSink } from './peer-sink.js';
import { cleanUp, measurePostfix, settings, type Settings, type Started } from './smtp-e2e.js';
import { figure, type Figure } from './smtp-e2e-report.js';

export interface FloorOptions {
  readonly messages?: number;
  readonly size?: number;
  readonly connections?: readonly number[];
  readonly runs?: number;
  readonly users?: number;
  readonly dir?: string;
  /** Measure Postfix end to end too (default true). */
  readonly postfix?: boolean;
  readonly log?: (line: string) => void;
}

export interface FloorRow {
  readonly connections: number;
  /** Machine CPU µs per message: sink + smtp-source. */
  readonly network: Figure;
  /** Machine CPU µs per message: the raw accept loop, the raw message loop. */
  readonly accept: Figure;
  readonly message: Figure;
  /** msg/s: cores / (network + accept), cores / (network + message). */
  readonly acceptCeiling: Figure;
  readonly ceiling: Figure;
  /** The sink's acceptance rate, and acceptCeiling / that, per run. */
  readonly sinkRate: Figure;
  readonly acceptCeilingSink: Figure;
  readonly postfix?: Figure;
  readonly ceilingPostfix?: Figure;
}

interface Sample {
  network: number;
  accept: number;
  message: number;
  acceptCeiling: number;
  ceiling: number;
  sinkRate: number;
  postfix?: number;
}

/** Machine CPU µs per message while `work` runs. */
async function perMessage<T>(messages: number, work: () => Promise<T>): Promise<{ us: number; value: T }> {
  const before = machineCpuSeconds();
  const value = await work();
  return { us: ((machineCpuSeconds() - before) * 1e6) / messages, value };
}

async function oneSample(o: Settings, c: number, run: number, base: string, sink: NodeSink, started: Started, postfix: boolean): Promise<Sample> {
  const recipients = Array.from({ length: o.users }, (_, i) => `user${i + 1}@sink.test`);
  const load = { host: '127.0.0.1', port: sink.port, messages: o.messages, size: o.size, connections: c, recipients, reuse: false };
  const net = await perMessage(o.messages, () => runSmtpSource(load));
  const raw = (kind: 'accept' | 'message') => perMessage(o.messages, () => queueRawLoop(kind, mkdtempSync(join(base, 'raw-')), o.messages, c, o.size));
  const [accept, message] = [(await raw('accept')).us, (await raw('message')).us];
  const ceiling = (floor: number): number => (availableParallelism() * 1e6) / (net.us + floor);
  const s: Sample = { network: net.us, accept, message, acceptCeiling: ceiling(accept), ceiling: ceiling(message), sinkRate: net.value.rate };
  if (postfix) s.postfix = (await measurePostfix(o, c, run, started)).endToEndRate;
  o.log?.(
    `run ${run + 1} x${c}: network ${s.network.toFixed(0)} µs, accept ${accept.toFixed(0)} µs, message ${message.toFixed(0)} µs; ` +
      `ceilings ${s.acceptCeiling.toFixed(0)}/s (sink ${s.sinkRate.toFixed(0)}/s), ${s.ceiling.toFixed(0)}/s (Postfix ${s.postfix?.toFixed(0) ?? '-'}/s)`,
  );
  return s;
}

function row(connections: number, samples: readonly Sample[]): FloorRow {
  const pick = (f: (s: Sample) => number) => figure(samples.map(f));
  const withPostfix = samples.filter((s) => s.postfix !== undefined);
  return {
    connections, network: pick((s) => s.network), accept: pick((s) => s.accept), message: pick((s) => s.message),
    acceptCeiling: pick((s) => s.acceptCeiling), ceiling: pick((s) => s.ceiling),
    sinkRate: pick((s) => s.sinkRate), acceptCeilingSink: pick((s) => s.acceptCeiling / s.sinkRate),
    ...(withPostfix.length > 0
      ? { postfix: figure(withPostfix.map((s) => s.postfix!)), ceilingPostfix: figure(withPostfix.map((s) => s.ceiling / s.postfix!)) }
      : {}),
  };
}

const fmt = (f: Figure, digits = 0): string => `${f.median.toFixed(digits)} (${f.min.toFixed(digits)}–${f.max.toFixed(digits)})`;

function format(rows: readonly FloorRow[], o: Settings, load: readonly [number, number]): string {
  const lines = [
    `Ceiling for the promise on this machine (${availableParallelism()} cores): ${o.messages} messages of ${o.size} B, one connection per message`,
    `${o.runs} run(s), median (min–max), ratios per run; machine CPU µs per message; load average ${load[0].toFixed(2)} at start, ${load[1].toFixed(2)} at end`,
    '| connections | network floor (sink + smtp-source) | accept floor | message floor | acceptance ceiling msg/s | sink msg/s | ceiling/sink | end-to-end ceiling msg/s | Postfix e2e msg/s | ceiling/Postfix |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const pf = r.postfix && r.ceilingPostfix ? [fmt(r.postfix), fmt(r.ceilingPostfix, 2)] : ['-', '-'];
    const cells = [fmt(r.network), fmt(r.accept), fmt(r.message), fmt(r.acceptCeiling), fmt(r.sinkRate), fmt(r.acceptCeilingSink, 2), fmt(r.ceiling), ...pf];
    lines.push(`| ${r.connections} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Runs the benchmark; see the header. */
export async function runFloorBench(opts: FloorOptions = {}): Promise<{ rows: FloorRow[]; text: string }> {
  const o = settings({ messages: opts.messages, size: opts.size, users: opts.users, runs: opts.runs, connections: opts.connections ?? [10, 50], dir: opts.dir, log: opts.log });
  const load0 = loadavg()[0]!;
  const base = mkdtempSync(join(opts.dir ?? tmpdir(), 'qmta-bench-floor-'));
  const started: Started = { qmta: [], postfix: [] };
  try {
    const sink = (started.sink = await startNodeSink());
    const samples = new Map(o.connections.map((c) => [c, [] as Sample[]]));
    for (let run = 0; run < o.runs; run++) {
      for (const c of o.connections) samples.get(c)!.push(await oneSample(o, c, run, base, sink, started, opts.postfix ?? true));
    }
    const rows = o.connections.map((c) => row(c, samples.get(c)!));
    return { rows, text: format(rows, o, [load0, loadavg()[0]!]) };
  } finally {
    await cleanUp(started);
    rmSync(base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' }, size: { type: 'string' }, connections: { type: 'string' }, runs: { type: 'string' },
      users: { type: 'string' }, dir: { type: 'string' }, 'no-postfix': { type: 'boolean' },
    },
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const r = await runFloorBench({
    messages: num(values.messages), size: num(values.size), runs: num(values.runs), users: num(values.users),
    connections: values.connections?.split(',').map(Number), dir: values.dir, postfix: !values['no-postfix'], log: (l) => console.error(l),
  });
  console.log(r.text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
