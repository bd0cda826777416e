// Measures one load run end to end: how long a server takes to accept a load (every 250
// received) and to deliver it (every message in its mailbox), with the CPU time and memory
// of the server's processes. Independent of the server: qmta, Postfix or a sink.
//
// Interface: `measureEndToEnd({ send, delivered, expected, pids, messages?, timeoutMs?,
// pollMs?, sampleMs? })` -> { acceptanceSeconds, endToEndSeconds, acceptanceRate,
// endToEndRate, cpuSeconds, peakRssBytes, peakPssBytes, peakHwmBytes, delivered, sent }.
// send() starts the load and resolves when the load client has its last 250 (e.g.
// runSmtpSource); delivered() counts delivered messages (maildir files); pids are the
// server's root processes (or a function giving them at the end), whose whole process
// trees are measured (bench/load-proc.ts).
// Failures: send() rejecting -> rejects with that error; fewer than `expected` delivered
// within timeoutMs (default 10 minutes) of the start -> rejects naming the count.
// Guarantees: both clocks start just before send() is called; the end-to-end clock stops
// at the first poll (every pollMs, default 25 ms) that sees `expected` deliveries, so it
// is late by at most one poll interval, and never before acceptance. cpuSeconds is the
// CPU the server trees spent from the start to that moment. peakRss/peakPss are the
// largest sums over the trees seen by a sampler (every sampleMs, default 200 ms, and once
// at the end), so a shorter peak can be missed; peakHwm is the largest VmHWM of a single
// process, which is exact but covers that process's whole life, not only this run.

import { treeCpuSeconds, treeMemory, type TreeMemory } from './load-proc.js';

export interface EndToEndOptions<T> {
  readonly send: () => Promise<T>;
  readonly delivered: () => number;
  readonly expected: number;
  /** The server's root processes; their descendants are included. */
  readonly pids: readonly number[] | (() => readonly number[]);
  /** Messages the load sends, for the acceptance rate (default: expected). */
  readonly messages?: number;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly sampleMs?: number;
}

export interface EndToEndResult<T> {
  readonly acceptanceSeconds: number;
  readonly endToEndSeconds: number;
  /** Messages per second accepted. */
  readonly acceptanceRate: number;
  /** Messages per second delivered. */
  readonly endToEndRate: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly peakPssBytes: number;
  readonly peakHwmBytes: number;
  readonly delivered: number;
  /** What send() resolved to. */
  readonly sent: T;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Keeps the largest memory sums seen while the run lasts. */
class PeakSampler {
  private peak: TreeMemory = { rss: 0, pss: 0, hwm: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: () => readonly number[], intervalMs: number) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const m = treeMemory(this.pids());
    this.peak = { rss: Math.max(this.peak.rss, m.rss), pss: Math.max(this.peak.pss, m.pss), hwm: Math.max(this.peak.hwm, m.hwm) };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  finish(): TreeMemory {
    this.stop();
    this.sample();
    return this.peak;
  }
}

async function waitDelivered(o: EndToEndOptions<unknown>, start: bigint): Promise<number> {
  const timeoutS = (o.timeoutMs ?? 600_000) / 1000;
  for (;;) {
    const n = o.delivered();
    if (n >= o.expected) return n;
    if (seconds(start) > timeoutS) throw new Error(`only ${n} of ${o.expected} messages delivered after ${timeoutS} s`);
    await sleep(o.pollMs ?? 25);
  }
}

/** Runs the load and measures it; see the header. */
export async function measureEndToEnd<T>(o: EndToEndOptions<T>): Promise<EndToEndResult<T>> {
  const pids = typeof o.pids === 'function' ? o.pids : () => o.pids as readonly number[];
  const cpuBefore = treeCpuSeconds(pids());
  const sampler = new PeakSampler(pids, o.sampleMs ?? 200);
  const start = process.hrtime.bigint();
  try {
    const sent = await o.send();
    const acceptanceSeconds = seconds(start);
    const delivered = await waitDelivered(o, start);
    const endToEndSeconds = seconds(start);
    const cpuSeconds = treeCpuSeconds(pids()) - cpuBefore;
    const peak = sampler.finish();
    const messages = o.messages ?? o.expected;
    return {
      acceptanceSeconds, endToEndSeconds, cpuSeconds, delivered, sent,
      acceptanceRate: messages / acceptanceSeconds, endToEndRate: o.expected / endToEndSeconds,
      peakRssBytes: peak.rss, peakPssBytes: peak.pss, peakHwmBytes: peak.hwm,
    };
  } finally {
    sampler.stop();
  }
}
