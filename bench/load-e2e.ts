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
// at the first poll that sees `expected` deliveries, never before acceptance. Polls start
// once the load is accepted and are spaced by the delivery rate (waitDelivered): near the
// end every pollMs (default 25 ms), so the clock is late by about that much, and by 500
// ms at worst if the rate jumps more than fourfold at the very end. cpuSeconds is the
// CPU the server trees spent from the start to that moment. peakRss/peakPss are the
// largest sums over the trees seen by a sampler (every sampleMs, default 1 s, and once
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

interface Poll {
  readonly n: number;
  readonly t: number;
  /** Deliveries per second since the previous poll. */
  readonly rate: number;
}

/**
 * Polls delivered() until it reaches expected. Counting a maildir costs a readdir of every
 * file in it, so polls are spaced to a quarter of the time the last rate says is left
 * (between pollMs and 500 ms): few polls stealing CPU from the server, frequent ones at the end.
 */
async function waitDelivered(o: EndToEndOptions<unknown>, start: bigint): Promise<number> {
  const timeoutS = (o.timeoutMs ?? 600_000) / 1000;
  const minMs = o.pollMs ?? 25;
  let last: Poll = { n: o.delivered(), t: seconds(start), rate: 0 };
  while (last.n < o.expected) {
    if (last.t > timeoutS) throw new Error(`only ${last.n} of ${o.expected} messages delivered after ${timeoutS} s`);
    await sleep(nextPollMs(last, o.expected, minMs));
    const n = o.delivered();
    const t = seconds(start);
    last = { n, t, rate: (n - last.n) / (t - last.t) };
  }
  return last.n;
}

function nextPollMs(last: Poll, expected: number, minMs: number): number {
  const leftMs = last.rate > 0 ? ((expected - last.n) / last.rate) * 1000 : minMs;
  return Math.min(500, Math.max(minMs, leftMs / 4));
}

/** Runs the load and measures it; see the header. */
export async function measureEndToEnd<T>(o: EndToEndOptions<T>): Promise<EndToEndResult<T>> {
  const pids = typeof o.pids === 'function' ? o.pids : () => o.pids as readonly number[];
  const cpuBefore = treeCpuSeconds(pids());
  const sampler = new PeakSampler(pids, o.sampleMs ?? 1000);
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
