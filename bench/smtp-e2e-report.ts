// The table of the SMTP end-to-end benchmark (bench/smtp-e2e.ts): per connection count and
// server, the median with min–max of the runs, then the ratios taken run by run (with
// --hooks, --metrics, --queue-first, --fsync: the CPU a message costs more with a no-op hook at
// each point, with the metrics listener on, or with qmail-local's fsyncs instead of syncfs,
// and the end-to-end rate with it over without; delivery at accept time over qmail's
// queue-first path; with --against, this build's CPU a message and end-to-end rate against
// another checkout's; run by run).
//
// Interface: `summarise(measurements, levels)` -> SmtpE2eSummary; `formatSmtpE2e(summary,
// header)` -> text. A measurement is one load against one server in one run.
// Guarantees: a ratio is computed inside each run (same disk state, same neighbours) and
// then summarised, never as a ratio of medians; a missing partner (a failed measurement)
// leaves the ratio out rather than guessing.

export type ServerName = 'qmta' | 'qmta+hooks' | 'qmta+metrics' | 'qmta-queue' | 'qmta-fsync' | 'qmta-before' | 'postfix' | 'sink';

export interface Measurement {
  readonly run: number;
  readonly connections: number;
  readonly server: ServerName;
  readonly acceptanceRate: number;
  readonly endToEndRate: number;
  readonly cpuSeconds: number;
  readonly peakPssBytes: number;
  readonly peakRssBytes: number;
  /** Messages found in the maildirs afterwards (the sink: what it counted). */
  readonly delivered: number;
  /** qmta only: every message exactly once (count and distinct Message-Ids). */
  readonly exactlyOnce?: boolean;
}

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface ServerRow {
  readonly connections: number;
  readonly server: ServerName;
  readonly acceptance: Figure;
  readonly endToEnd: Figure;
  readonly cpu: Figure;
  /** Server CPU µs per delivered message. */
  readonly cpuPerMessage: Figure;
  readonly pss: Figure;
  readonly rss: Figure;
  readonly delivered: readonly number[];
  readonly exactlyOnce?: boolean;
}

export interface RatioRow {
  readonly connections: number;
  /** qmta end-to-end / Postfix end-to-end. */
  readonly qmtaPostfix?: Figure;
  /** qmta acceptance / sink acceptance. */
  readonly qmtaSink?: Figure;
  /** Server CPU µs per message, this build minus the other checkout's (--against). */
  readonly changeCost?: Figure;
  /** This build's end-to-end rate over the other checkout's. */
  readonly changeRate?: Figure;
  /** Server CPU µs per message, qmta with no-op hooks minus qmta without. */
  readonly hooksCost?: Figure;
  /** Server CPU µs per message, qmta with its metrics listener on minus off. */
  readonly metricsCost?: Figure;
  /** qmta end-to-end with metrics on / off. */
  readonly metricsRate?: Figure;
  /** qmta end-to-end delivering at accept time / queue first. */
  readonly directRate?: Figure;
  /** Server CPU µs per message, qmta with control/directsync fsync minus syncfs. */
  readonly fsyncCost?: Figure;
  /** qmta end-to-end with syncfs / with fsync. */
  readonly syncfsRate?: Figure;
}

export interface SmtpE2eSummary {
  readonly rows: readonly ServerRow[];
  readonly ratios: readonly RatioRow[];
}

export function figure(values: readonly number[]): Figure {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

function serverRow(ms: readonly Measurement[]): ServerRow {
  const first = ms[0]!;
  const checks = ms.map((m) => m.exactlyOnce).filter((x): x is boolean => x !== undefined);
  return {
    connections: first.connections, server: first.server,
    acceptance: figure(ms.map((m) => m.acceptanceRate)), endToEnd: figure(ms.map((m) => m.endToEndRate)),
    cpu: figure(ms.map((m) => m.cpuSeconds)), cpuPerMessage: figure(ms.map(cpuPerMessage)), pss: figure(ms.map((m) => m.peakPssBytes)),
    rss: figure(ms.map((m) => m.peakRssBytes)), delivered: ms.map((m) => m.delivered),
    ...(checks.length > 0 ? { exactlyOnce: checks.every(Boolean) } : {}),
  };
}

function cpuPerMessage(m: Measurement): number {
  return (m.cpuSeconds / Math.max(1, m.delivered)) * 1e6;
}

/** Per-run f(a, b), over the runs that measured both. */
function perRun(ms: readonly Measurement[], a: ServerName, b: ServerName, f: (x: Measurement, y: Measurement) => number): Figure | undefined {
  const runs = [...new Set(ms.map((m) => m.run))];
  const values = runs.flatMap((run) => {
    const x = ms.find((m) => m.run === run && m.server === a);
    const y = ms.find((m) => m.run === run && m.server === b);
    return x && y ? [f(x, y)] : [];
  });
  return values.length > 0 ? figure(values) : undefined;
}

/** Per-run ratio a/b of the chosen field, over the runs that measured both. */
function ratio(ms: readonly Measurement[], a: ServerName, b: ServerName, field: 'acceptanceRate' | 'endToEndRate'): Figure | undefined {
  return perRun(ms, a, b, (x, y) => x[field] / y[field]);
}

/** Groups the measurements by connection count and server; see the header. */
export function summarise(ms: readonly Measurement[], levels: readonly number[]): SmtpE2eSummary {
  const rows: ServerRow[] = [];
  const ratios: RatioRow[] = [];
  for (const c of levels) {
    const at = ms.filter((m) => m.connections === c);
    for (const server of ['qmta', 'qmta+hooks', 'qmta+metrics', 'qmta-queue', 'qmta-fsync', 'qmta-before', 'postfix', 'sink'] as const) {
      const mine = at.filter((m) => m.server === server);
      if (mine.length > 0) rows.push(serverRow(mine));
    }
    const qp = ratio(at, 'qmta', 'postfix', 'endToEndRate');
    const qs = ratio(at, 'qmta', 'sink', 'acceptanceRate');
    const cost = (variant: ServerName) => perRun(at, variant, 'qmta', (x, y) => cpuPerMessage(x) - cpuPerMessage(y));
    const [hc, mc, mr] = [cost('qmta+hooks'), cost('qmta+metrics'), ratio(at, 'qmta+metrics', 'qmta', 'endToEndRate')];
    const dr = ratio(at, 'qmta', 'qmta-queue', 'endToEndRate');
    const [fc, fr] = [cost('qmta-fsync'), ratio(at, 'qmta', 'qmta-fsync', 'endToEndRate')];
    const [cc, cr] = [perRun(at, 'qmta', 'qmta-before', (x, y) => cpuPerMessage(x) - cpuPerMessage(y)), ratio(at, 'qmta', 'qmta-before', 'endToEndRate')];
    ratios.push({
      connections: c, ...(qp ? { qmtaPostfix: qp } : {}), ...(qs ? { qmtaSink: qs } : {}), ...(hc ? { hooksCost: hc } : {}),
      ...(mc ? { metricsCost: mc } : {}), ...(mr ? { metricsRate: mr } : {}), ...(dr ? { directRate: dr } : {}),
      ...(fc ? { fsyncCost: fc } : {}), ...(fr ? { syncfsRate: fr } : {}), ...(cc ? { changeCost: cc } : {}), ...(cr ? { changeRate: cr } : {}),
    });
  }
  return { rows, ratios };
}

const MB = 1024 * 1024;

function show(f: Figure, scale = 1, digits = 0): string {
  const v = (x: number): string => (x / scale).toFixed(digits);
  return f.min === f.max ? v(f.median) : `${v(f.median)} (${v(f.min)}–${v(f.max)})`;
}

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  return [head, ...body].map((cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function deliveredCell(r: ServerRow): string {
  const counts = [...new Set(r.delivered)].join('/');
  if (r.exactlyOnce === undefined) return counts;
  return `${counts} ${r.exactlyOnce ? 'exactly once' : 'NOT exactly once'}`;
}

/** The summary as text under `header` lines; see the header. */
export function formatSmtpE2e(s: SmtpE2eSummary, header: readonly string[]): string {
  const head = ['conns', 'server', 'accept msg/s', 'e2e msg/s', 'server CPU s', 'CPU µs/msg', 'peak PSS MB', 'peak RSS MB', 'delivered'];
  const body = s.rows.map((r) => [
    String(r.connections), r.server, show(r.acceptance), r.server === 'sink' ? '-' : show(r.endToEnd),
    show(r.cpu, 1, 1), show(r.cpuPerMessage), show(r.pss, MB), show(r.rss, MB), deliveredCell(r),
  ]);
  // Only the columns some row has: a paired run (--hooks, --metrics, --queue-first, --fsync, --against) has neither Postfix nor the sink.
  const columns = ([
    ['qmta/postfix e2e', (r) => r.qmtaPostfix && show(r.qmtaPostfix, 1, 2)],
    ['qmta/sink accept', (r) => r.qmtaSink && show(r.qmtaSink, 1, 2)],
    ['hooks CPU µs/msg', (r) => r.hooksCost && show(r.hooksCost)],
    ['metrics CPU µs/msg', (r) => r.metricsCost && show(r.metricsCost)],
    ['metrics on/off e2e', (r) => r.metricsRate && show(r.metricsRate, 1, 2)],
    ['direct/queue-first e2e', (r) => r.directRate && show(r.directRate, 1, 2)],
    ['fsync CPU µs/msg', (r) => r.fsyncCost && show(r.fsyncCost)],
    ['syncfs/fsync e2e', (r) => r.syncfsRate && show(r.syncfsRate, 1, 2)],
    ['change CPU µs/msg', (r) => r.changeCost && show(r.changeCost)],
    ['qmta/before e2e', (r) => r.changeRate && show(r.changeRate, 1, 2)],
  ] as const satisfies readonly (readonly [string, (r: RatioRow) => string | undefined])[]).filter(([, cell]) => s.ratios.some((r) => cell(r)));
  const ratioBody = s.ratios.map((r) => [String(r.connections), '', ...columns.map(([, cell]) => cell(r) ?? '-')]);
  return [
    ...header.map((h) => `# ${h}`), table(head, body), '',
    table(['conns', '', ...columns.map(([name]) => name)], ratioBody),
  ].join('\n');
}
