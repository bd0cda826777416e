// The report of a Tally: plain data for `--json`, the text tables and the HTML page.
//
// Interface: buildReport(tally, read, topN) -> Report. Every figure is a number; times are
// ms since the epoch, durations seconds. `exact` on each table says whether it kept every
// key; when false, each row's figures are lower bounds and `maxError` bounds the undercount
// of its ranking figure (topn.ts). Percentiles are within 1.6% (histogram.ts).

import type { Histogram } from './histogram.js';
import type { ReadSummary } from './sources.js';
import type { SeriesPoint } from './series.js';
import { RESULTS, type Result, type Tally } from './tally.js';
import type { TopN } from './topn.js';

export interface Delays {
  readonly count: number;
  readonly avg: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface Table<R> {
  readonly exact: boolean;
  readonly maxError: number;
  readonly distinct: number;
  readonly rows: (R & { readonly key: string })[];
}

export interface Report {
  readonly input: {
    readonly lines: number; readonly records: number; readonly corrupt: number; readonly foreign: number;
    readonly overlong: number; readonly outside: number; readonly evicted: number; readonly unmatched: number;
    readonly unreadable: ReadSummary['unreadable'];
  };
  readonly span: { readonly first: number | null; readonly last: number | null };
  readonly overall: {
    readonly messages: number; readonly bytes: number; readonly completed: number; readonly attempts: number;
    readonly deliveries: Record<Result, number>; readonly byChannel: Record<string, Record<Result, number>>;
    readonly successBytes: number; readonly bounces: number; readonly doubleBounces: number; readonly tripleBounces: number;
    readonly delay: Delays; readonly xdelay: Delays; readonly queueTime: Delays;
  };
  readonly domains: Table<{ attempts: number; success: number; failure: number; deferral: number; bytes: number; avgDelay: number; avgXdelay: number }>;
  readonly senders: Table<{ messages: number; bytes: number; recipients: number; success: number }>;
  readonly recipients: Table<{ attempts: number; success: number; failure: number; deferral: number; bytes: number; avgDelay: number }>;
  readonly failures: Table<{ count: number; last: number }>;
  readonly deferrals: Table<{ count: number; last: number }>;
  readonly smtp: { readonly sessions: Record<string, number>; readonly tls: number; readonly accepted: number; readonly replies: Record<string, number> };
  readonly series: { readonly widthMs: number; readonly points: readonly SeriesPoint[] };
  /** Delay distribution for charts: upper edges in seconds (null: no limit) and counts per bucket. */
  readonly delayBuckets: { readonly le: number | null; readonly count: number }[];
}

const DELAY_EDGES_S = [1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, Infinity];

function delays(h: Histogram): Delays {
  const s = (ms: number) => Math.round(ms) / 1000;
  return { count: h.count, avg: s(h.mean()), p50: s(h.percentile(50)), p90: s(h.percentile(90)), p99: s(h.percentile(99)), max: s(h.max) };
}

function table<R, O>(t: TopN<R>, n: number, map: (r: R) => O): Table<O> {
  return { exact: t.exact, maxError: t.maxError, distinct: t.size, rows: t.top(n).map(({ key, row }) => ({ key, ...map(row) })) };
}

const avg = (sum: number, n: number) => (n === 0 ? 0 : Math.round(sum / n) / 1000);

/** The report of everything the tally counted; tables keep their top `topN` rows. */
export function buildReport(t: Tally, read: ReadSummary, topN: number): Report {
  const cumulative = t.delay.cumulative(DELAY_EDGES_S.map((s) => s * 1000));
  return {
    input: {
      lines: t.lines, records: t.records, corrupt: t.corrupt, foreign: t.foreign, overlong: read.overlong,
      outside: t.outside, evicted: t.evicted, unmatched: t.unmatched, unreadable: read.unreadable,
    },
    span: { first: Number.isFinite(t.first) ? t.first : null, last: Number.isFinite(t.last) ? t.last : null },
    overall: {
      messages: t.messages, bytes: t.bytes, completed: t.completed, attempts: t.attempts,
      deliveries: { ...t.results }, byChannel: Object.fromEntries([...t.byChannel].sort()),
      successBytes: t.successBytes, bounces: t.bounces, doubleBounces: t.doubleBounces, tripleBounces: t.tripleBounces,
      delay: delays(t.delay), xdelay: delays(t.xdelay), queueTime: delays(t.queueTime),
    },
    domains: table(t.domains, topN, (r) => ({
      attempts: r.attempts, success: r.success, failure: r.failure, deferral: r.deferral, bytes: r.bytes,
      avgDelay: avg(r.delaySum, r.success + r.failure), avgXdelay: avg(r.xdelaySum, r.attempts),
    })),
    senders: table(t.senders, topN, (r) => ({ ...r })),
    recipients: table(t.recipients, topN, (r) => ({
      attempts: r.attempts, success: r.success, failure: r.failure, deferral: r.deferral, bytes: r.bytes,
      avgDelay: avg(r.delaySum, r.success + r.failure),
    })),
    failures: table(t.failures, topN, (r) => ({ ...r })),
    deferrals: table(t.deferrals, topN, (r) => ({ ...r })),
    smtp: {
      sessions: Object.fromEntries([...t.smtpSessions].sort()), tls: t.smtpTls, accepted: t.smtpAccepted,
      replies: Object.fromEntries([...t.smtpReplies].sort()),
    },
    series: { widthMs: t.series.width, points: t.series.points() },
    delayBuckets: DELAY_EDGES_S.map((le, i) => ({ le: Number.isFinite(le) ? le : null, count: (cumulative[i] ?? 0) - (i === 0 ? 0 : cumulative[i - 1] ?? 0) })),
  };
}

export { RESULTS };
