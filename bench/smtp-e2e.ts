// SMTP end-to-end benchmark (issue 4): qmta, the private Postfix peer and the bare Node
// sink loaded by Postfix's smtp-source in the same run. For each connection count: the
// acceptance rate (msg/s until every 250), the end-to-end rate (until the last message is
// in its maildir), the server's CPU seconds and peak PSS/RSS, and the ratios qmta/Postfix
// (end to end) and qmta/sink (acceptance).
//
// Interface: `runSmtpE2eBench(opts)` -> { measurements, summary, text }; standalone:
// `node dist/bench/smtp-e2e.js [--messages 20000] [--size 4096] [--connections 1,10,50]
// [--users 50] [--runs 3] [--reuse] [--dir D] [--cpu-prof DIR: qmta's profiles in DIR/qmta-prof-*] [--metrics] [--hooks] [--queue-first] [--fsync] [--against DIR]`. Must run as root (the
// Postfix peer's master runs as root).
// --hooks (issue 18: what the hooks cost): instead of qmta, Postfix and the sink, qmta as an
// embedding (bench/smtp-e2e-embed.ts) twice per load, without hooks ('qmta') and with a
// no-op handler at each hook point ('qmta+hooks'), in alternating order; the table adds
// the server CPU µs a message costs more with the hooks, run by run.
// --metrics (issue 17: what counting costs): likewise `qmta start` with its metrics listener
// off ('qmta') and on ('qmta+metrics'; nothing scrapes), alternating; with --goal, the
// goal run with the listener on.
// --queue-first (issue 14's A/B of delivery at accept time): likewise `qmta start` delivering
// at accept time ('qmta') and with control/directmaildir 0 ('qmta-queue'), alternating.
// --fsync (the A/B of the syncfs group commit): likewise `qmta start` with its default
// control/directsync syncfs ('qmta') and with fsync ('qmta-fsync'), alternating.
// --goal (issue 14's goal): 200,000 messages from 50 connections into `qmta start`, with the
// machine CPU a message per stage; then the same load against Postfix's smtp-sink, a C
// server that stores nothing (bench/peer-csink.ts): the floor the load alone costs.
// --against DIR (the A/B of a change): this build ('qmta') and the build of another
// checkout at DIR ('qmta-before', its dist/ and native core as built there), both with
// `qmta start`, alternating.
// Servers: qmta is `qmta start` in a child process on a fresh home (bench/smtp-e2e-qmta.ts:
// every message fsync'd before its 250 and after its maildir write, its log written as in
// production); Postfix delivers to maildirs through virtual(8) with its log on
// (bench/peer-postfix.ts); the sink (bench/peer-sink.ts) stores nothing, so it has an
// acceptance rate only. Each load goes to U users: smtp-source runs min(U, connections)
// processes, one recipient each; without --reuse every message has its own connection.
// Method: fresh directories for every measurement (a new qmta home, a new Postfix
// instance, all under one directory that puts each in block groups of its own:
// bench/bench-root.ts), not a steady state. Nothing is deleted until the last measurement: ext4 here
// creates files slowly for minutes after mass deletions (DESIGN.md), so the homes and
// Postfix instances are stopped but kept, and removed at the very end. Within a run qmta
// and Postfix alternate which goes first, and the sink goes last. Figures are the median with min–max of the runs; ratios are per run.
// After each qmta and Postfix load, the maildirs are read (after 2 s of settling) and
// must hold every message exactly once: as many files as messages, as many distinct
// Message-Ids (smtp-source's pid.connection.count); a failure is reported in the table.
// Failures: a refused message, a server failing to start, or a load not delivered within
// 10 minutes -> throws (everything started is stopped and removed).

import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SEMI_SPACE_MB } from '../ts/cli/heap.js';
import { makeBenchRoot, rootLine, type BenchRoot } from './bench-root.js';
import { machineCpuSeconds, threadCpuSeconds, treeCpuSeconds } from './load-proc.js';
import { measureSmtpLoad, type SmtpLoad, type SmtpTarget } from './load-run.js';
import { runSmtpSource } from './load-smtp-source.js';
import { startCSink } from './peer-csink.js';
import { startPostfixPeer, type PostfixPeer } from './peer-postfix.js';
import { startNodeSink, type NodeSink } from './peer-sink.js';
import { checkDelivered, startQmtaServer, type QmtaServer } from './smtp-e2e-qmta.js';
import { formatSmtpE2e, summarise, type Measurement, type ServerName, type SmtpE2eSummary } from './smtp-e2e-report.js';

export interface SmtpE2eOptions {
  readonly messages?: number;
  readonly size?: number;
  readonly connections?: readonly number[];
  readonly users?: number;
  readonly runs?: number;
  readonly reuse?: boolean;
  /** Parent directory of the homes and Postfix instances (default: the system temp dir). */
  readonly dir?: string;
  /** Extra node flags for qmta (e.g. --cpu-prof). */
  readonly qmtaNodeArgs?: readonly string[];
  /** qmta with its metrics listener on (every delivery counted; nothing scrapes). */
  readonly metrics?: boolean;
  /** Embedded qmta without and with a no-op hook at each point, instead of qmta, Postfix and the sink. */
  readonly hooks?: boolean;
  /** qmta delivering at accept time and queue first, instead of qmta, Postfix and the sink. */
  readonly queueFirst?: boolean;
  /** qmta with control/directsync syncfs and fsync, instead of qmta, Postfix and the sink. */
  readonly fsync?: boolean;
  /** Another checkout's directory: its build against this one, instead of qmta, Postfix and the sink. */
  readonly against?: string;
  readonly log?: (line: string) => void;
}

export interface SmtpE2eResult {
  readonly measurements: readonly Measurement[];
  readonly summary: SmtpE2eSummary;
  readonly text: string;
}

export type Settings = Required<Omit<SmtpE2eOptions, 'dir' | 'log'>> & Pick<SmtpE2eOptions, 'dir' | 'log'>;

/** Everything started, so that the end (or a failure) stops and removes it. */
export interface Started {
  readonly qmta: QmtaServer[];
  readonly postfix: PostfixPeer[];
  sink?: NodeSink;
}

function loadFor(o: Settings, connections: number, recipients: readonly string[]): SmtpLoad {
  return { messages: o.messages, size: o.size, connections, reuse: o.reuse, recipients };
}

async function measureOne(name: ServerName, target: SmtpTarget, load: SmtpLoad, run: number, maildirs?: readonly string[]): Promise<Measurement> {
  const r = await measureSmtpLoad(target, load);
  const check = maildirs ? await checkDelivered(maildirs, load.messages) : undefined;
  return {
    run, connections: load.connections, server: name, acceptanceRate: r.acceptanceRate, endToEndRate: r.endToEndRate,
    cpuSeconds: r.cpuSeconds, peakPssBytes: r.peakPssBytes, peakRssBytes: r.peakRssBytes,
    delivered: check ? check.files : r.delivered, ...(check ? { exactlyOnce: check.exactlyOnce } : {}),
  };
}

type QmtaVariant = 'qmta' | 'qmta+hooks' | 'qmta+metrics' | 'qmta-queue' | 'qmta-fsync' | 'qmta-before';

/** The runs of qmta against a variant of itself, by the option that asks for one: the
 *  variant's name and what the header says of the pair. */
const VARIANTS = {
  hooks: { name: 'qmta+hooks', says: 'qmta embedded (createMta, bench/smtp-e2e-embed.ts) without hooks and with a no-op handler at each of the six points (qmta+hooks), alternating' },
  metrics: { name: 'qmta+metrics', says: 'qmta start with its metrics listener off (qmta) and on (qmta+metrics, nothing scraping), alternating' },
  queueFirst: { name: 'qmta-queue', says: 'qmta start delivering at accept time (qmta) and queue first (qmta-queue: control/directmaildir 0), alternating' },
  fsync: { name: 'qmta-fsync', says: 'qmta start with control/directsync syncfs (qmta) and fsync (qmta-fsync), alternating' },
  against: { name: 'qmta-before', says: 'qmta start of this build (qmta) and of another checkout\'s (qmta-before), alternating' },
} as const satisfies Record<string, { name: QmtaVariant; says: string }>;

/** The variant this run pairs qmta with, if any (instead of Postfix and the sink). */
function variantOf(o: Settings): (typeof VARIANTS)[keyof typeof VARIANTS] | undefined {
  const key = (Object.keys(VARIANTS) as (keyof typeof VARIANTS)[]).find((k) => o[k]);
  return key && VARIANTS[key];
}

async function measureQmta(o: Settings, c: number, run: number, started: Started, name: QmtaVariant = 'qmta'): Promise<Measurement> {
  const embed = o.hooks ? { embed: name === 'qmta+hooks' ? 'hooks' as const : 'plain' as const } : {};
  const q = await startQmtaServer({ users: o.users, domain: 'bench.test', dir: o.dir, nodeArgs: o.qmtaNodeArgs, metrics: name === 'qmta+metrics', queueFirst: name === 'qmta-queue', eachFile: name === 'qmta-fsync',
    ...(name === 'qmta-before' ? { main: resolve(o.against, 'dist', 'ts', 'cli', 'main.js') } : {}), ...embed });
  started.qmta.push(q);
  try {
    const target = { port: q.port, pids: [q.pid], delivered: q.countDelivered };
    return await measureOne(name, target, loadFor(o, c, q.addresses), run, q.maildirs);
  } finally {
    await q.stop();
  }
}

export async function measurePostfix(o: Settings, c: number, run: number, started: Started): Promise<Measurement> {
  const p = await startPostfixPeer({ users: o.users, domain: 'peer.test', dir: o.dir });
  started.postfix.push(p);
  try {
    const target = { port: p.port, pids: [p.masterPid], delivered: p.countDelivered };
    const maildirs = p.users.map((u) => join(p.maildirRoot, u, 'Maildir'));
    return await measureOne('postfix', target, loadFor(o, c, p.addresses), run, maildirs);
  } finally {
    await p.stop({ remove: false });
  }
}

async function measureSink(o: Settings, c: number, run: number, sink: NodeSink): Promise<Measurement> {
  const recipients = Array.from({ length: o.users }, (_, i) => `user${i + 1}@sink.test`);
  return measureOne('sink', { port: sink.port, pids: [sink.pid], delivered: sink.count }, loadFor(o, c, recipients), run);
}

function logged(o: Settings, m: Measurement): Measurement {
  o.log?.(`run ${m.run + 1} ${m.server} x${m.connections}: accept ${m.acceptanceRate.toFixed(0)}/s, e2e ${m.endToEndRate.toFixed(0)}/s, CPU ${m.cpuSeconds.toFixed(1)} s`);
  return m;
}

/** qmta without and with `variant`, the order alternating from one load to the next. */
async function pairRun(o: Settings, run: number, started: Started, variant: QmtaVariant): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const [i, c] of o.connections.entries()) {
    const pair = (run + i) % 2 === 0 ? (['qmta', variant] as const) : ([variant, 'qmta'] as const);
    for (const name of pair) out.push(logged(o, await measureQmta(o, c, run, started, name)));
  }
  return out;
}

async function oneRun(o: Settings, run: number, started: Started, sink: NodeSink): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const c of o.connections) {
    const pair = run % 2 === 0 ? (['qmta', 'postfix'] as const) : (['postfix', 'qmta'] as const);
    for (const server of pair) {
      out.push(logged(o, server === 'qmta' ? await measureQmta(o, c, run, started) : await measurePostfix(o, c, run, started)));
    }
    const s = await measureSink(o, c, run, sink);
    o.log?.(`run ${run + 1} sink x${c}: accept ${s.acceptanceRate.toFixed(0)}/s`);
    out.push(s);
  }
  return out;
}

export async function cleanUp(started: Started): Promise<void> {
  await Promise.allSettled([...started.qmta.map((q) => q.stop()), ...started.postfix.map((p) => p.stop({ remove: false })), started.sink?.stop()]);
  for (const q of started.qmta) q.remove();
  for (const p of started.postfix) rmSync(p.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

export function settings(opts: SmtpE2eOptions): Settings {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  return { messages: 20_000, size: 4096, connections: [1, 10, 50], users: 50, runs: 3, reuse: false, qmtaNodeArgs: [], metrics: false, hooks: false, queueFirst: false, fsync: false, against: '', ...given };
}

function headerLines(o: Settings, loadStart: number, root: BenchRoot): string[] {
  const pair = variantOf(o);
  return [
    `SMTP end to end: ${o.messages} messages of ${o.size} B to ${o.users} users per load, smtp-source ${o.reuse ? 'reusing connections (-d)' : 'one connection per message'}`,
    ...(pair ? [pair.says] : []),
    `${o.runs} run(s), fresh directories per measurement (new qmta home${pair ? '' : ', new Postfix instance'}); median (min–max); ratios per run`,
    `load average ${loadStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`,
    rootLine(root),
  ];
}

/** Runs the benchmark; see the header. */
export async function runSmtpE2eBench(opts: SmtpE2eOptions = {}): Promise<SmtpE2eResult> {
  const root = makeBenchRoot(opts.dir);
  const o = settings({ ...opts, dir: root.path });
  const loadStart = loadavg()[0]!;
  const started: Started = { qmta: [], postfix: [] };
  try {
    const variant = variantOf(o)?.name;
    const sink = variant ? undefined : (started.sink = await startNodeSink());
    const measurements: Measurement[] = [];
    for (let run = 0; run < o.runs; run++) {
      measurements.push(...(await (variant ? pairRun(o, run, started, variant) : oneRun(o, run, started, sink!))));
    }
    const summary = summarise(measurements, o.connections);
    return { measurements, summary, text: formatSmtpE2e(summary, headerLines(o, loadStart, root)) };
  } finally {
    await cleanUp(started);
    root.remove();
  }
}

/** `load` against Postfix's smtp-sink: seconds, and CPU seconds of the machine, the sink
 *  and smtp-source. */
async function measureCSink(load: SmtpLoad): Promise<{ seconds: number; machine: number; sink: number; source: number }> {
  const sink = await startCSink();
  try {
    const [sink0, machine0] = [treeCpuSeconds([sink.pid]), machineCpuSeconds()];
    const sent = await runSmtpSource({ host: '127.0.0.1', port: sink.port, ...load });
    const [sink1, machine1] = [treeCpuSeconds([sink.pid]), machineCpuSeconds()];
    return { seconds: sent.seconds, machine: machine1 - machine0, sink: sink1 - sink0, source: sent.cpuSeconds };
  } finally {
    await sink.stop();
  }
}

/** Issue 14's goal: 200,000 messages from 50 connections into qmta, in one run, with the
 *  machine CPU each stage spent per message; then the same load against a sink that does
 *  no work at all (the floor). */
export async function runGoal(o: Settings): Promise<string> {
  const started: Started = { qmta: [], postfix: [] };
  const root = makeBenchRoot(o.dir);
  try {
    const goal = { ...o, messages: 200_000, size: 4096, connections: [50] };
    const q = await startQmtaServer({ users: o.users, domain: 'bench.test', dir: root.path, nodeArgs: o.qmtaNodeArgs, metrics: o.metrics === true });
    started.qmta.push(q);
    const [threads0, machine0] = [threadCpuSeconds(q.pid), machineCpuSeconds()];
    const r = await measureSmtpLoad({ port: q.port, pids: [q.pid], delivered: q.countDelivered }, loadFor(goal, 50, q.addresses));
    const [threads1, machine1] = [threadCpuSeconds(q.pid), machineCpuSeconds()];
    const check = await checkDelivered(q.maildirs, goal.messages);
    await q.stop();
    const floor = await measureCSink(loadFor(goal, 50, q.addresses));
    const us = (s: number) => ((s / goal.messages) * 1e6).toFixed(0);
    const stages = [...threads1].map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const).filter(([, s]) => s > 0.05).sort((a, b) => b[1] - a[1]);
    const qmtaThreads = stages.reduce((a, [, s]) => a + s, 0);
    const machine = machine1 - machine0;
    return [
      `# issue 14's goal: ${goal.messages} messages of ${goal.size} B from 50 smtp-source connections (${o.reuse ? 'each carrying message after message, -d' : 'a new connection per message'}) to ${o.users} users, each durable in its maildir before its 250`,
      `# load average ${loadavg()[0]!.toFixed(2)} at end; ${rootLine(root)}`,
      `qmta: ${(goal.messages / r.endToEndRate).toFixed(1)} s end to end (target 60 s), ${r.endToEndRate.toFixed(0)} msg/s; accept ${r.acceptanceRate.toFixed(0)} msg/s;`
        + ` server CPU ${r.cpuSeconds.toFixed(1)} s; peak PSS ${(r.peakPssBytes / 2 ** 20).toFixed(0)} MB;`
        + ` delivered ${check.files}${check.exactlyOnce ? ' exactly once' : ' NOT exactly once'}`,
      `machine CPU per message: ${us(machine)} µs in all = qmta ${us(qmtaThreads)} (${stages.map(([n, s]) => `${n} ${us(s)}`).join(', ')})`
        + ` + smtp-source ${us(r.sent.cpuSeconds)} + the rest (kernel work not charged to a thread, other processes) ${us(machine - qmtaThreads - r.sent.cpuSeconds)}`,
      `floor, the same load against Postfix's smtp-sink (C, stores nothing): ${floor.seconds.toFixed(1)} s, ${(goal.messages / floor.seconds).toFixed(0)} msg/s;`
        + ` machine CPU per message ${us(floor.machine)} µs = smtp-sink ${us(floor.sink)} + smtp-source ${us(floor.source)} + the rest ${us(floor.machine - floor.sink - floor.source)}`,
    ].join('\n');
  } finally {
    await cleanUp(started);
    root.remove();
  }
}

// qmta start run as root writes its profile after dropping to the qmta account
// (ts/privilege): a directory only root may write would silently get no profile. The
// profiles go to a new directory inside DIR, open to every account as /tmp is; DIR itself
// keeps its mode.
function profDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const open = mkdtempSync(join(resolve(dir), 'qmta-prof-'));
  chmodSync(open, 0o1777);
  console.error(`qmta's CPU profiles: ${open}`);
  return open;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' }, size: { type: 'string' }, connections: { type: 'string' }, users: { type: 'string' },
      runs: { type: 'string' }, reuse: { type: 'boolean' }, dir: { type: 'string' }, 'cpu-prof': { type: 'string' },
      metrics: { type: 'boolean' }, goal: { type: 'boolean' }, hooks: { type: 'boolean' }, 'queue-first': { type: 'boolean' }, fsync: { type: 'boolean' },
      against: { type: 'string' },
    },
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const prof = values['cpu-prof'];
  // The heap flag given here keeps qmta start from re-executing itself (ts/cli/heap.ts):
  // the first process would write its profile under the name the second one needs.
  const qmtaNodeArgs = prof ? [`--max-semi-space-size=${SEMI_SPACE_MB}`, '--cpu-prof', '--cpu-prof-dir', profDir(prof)] : undefined;
  if (values.goal) {
    console.log(await runGoal(settings({ users: num(values.users), dir: values.dir, metrics: values.metrics, reuse: values.reuse, qmtaNodeArgs })));
    return;
  }
  const r = await runSmtpE2eBench({
    messages: num(values.messages), size: num(values.size), users: num(values.users), runs: num(values.runs),
    connections: values.connections?.split(',').map(Number), reuse: values.reuse, dir: values.dir, metrics: values.metrics, hooks: values.hooks, queueFirst: values['queue-first'], fsync: values.fsync,
    against: values.against, qmtaNodeArgs, log: (l) => console.error(l),
  });
  console.log(r.text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
