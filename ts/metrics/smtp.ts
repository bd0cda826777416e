// The SMTP service's metrics, read from the service at scrape time: the service keeps plain
// cumulative counters (in the core, where the sockets are) and hands a snapshot over when
// Prometheus asks, so counting costs the SMTP hot path no JavaScript call at all.
//
// Interface: SmtpMetricsSource (implemented by the SMTP service and given to the metrics hub
// with hub.setSmtpSource), registerSmtpMetrics(registry, () => source | undefined).
// Metrics (all cumulative since start, except the gauge):
//   qmta_smtp_connections_total{listener,result}  listener: smtp|submission|smtps; result:
//     accepted, refused_limit, refused_deny, refused_tls, ... (the source's words)
//   qmta_smtp_messages_total{result,code}  result accepted|refused, code the reply's (250, 552...)
//   qmta_smtp_auth_total{mechanism,result}  result success|failure
//   qmta_smtp_sessions_total{listener}, qmta_smtp_starttls_total{listener}  (STARTTLS share =
//     starttls / sessions)
//   qmta_smtp_received_bytes_total  message bytes received (DATA/BDAT)
//   qmta_smtp_rcpt_reused_total  RCPTs the core answered itself with an earlier answer of the
//     policy side (a recipient planned for delivery at accept time, its .qmail files unchanged)
//   qmta_smtp_open_sessions{listener}  gauge
//   qmta_smtp_session_seconds  histogram of session lengths (buckets given by the source)
// Failures: a source that throws gives no SMTP samples for that scrape (the rest is served).

import type { Registry } from 'prom-client';

export interface SmtpMetricsSnapshot {
  readonly connections: readonly { readonly listener: string; readonly result: string; readonly count: number }[];
  readonly messages: readonly { readonly result: 'accepted' | 'refused'; readonly code: number; readonly count: number }[];
  readonly auth: readonly { readonly mechanism: string; readonly result: 'success' | 'failure'; readonly count: number }[];
  readonly sessions: readonly { readonly listener: string; readonly total: number; readonly starttls: number; readonly open: number }[];
  readonly receivedBytes: number;
  readonly rcptReused: number;
  /** Session lengths: upper bounds in seconds (ascending, without +Inf), the count of
   *  sessions at or below each bound (cumulative, Prometheus's convention), sum and count. */
  readonly sessionSeconds: { readonly le: readonly number[]; readonly cumulative: readonly number[]; readonly sum: number; readonly count: number };
}

/** What the SMTP service implements: a cheap copy of its cumulative counters. */
export interface SmtpMetricsSource {
  snapshot(): SmtpMetricsSnapshot;
}

type Labels = Record<string, string | number>;
interface Sample { readonly labels?: Labels; readonly value: number; readonly metricName?: string }

/** A metric prom-client's registry prints, whose samples come from the current snapshot. */
function fromSnapshot(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => SmtpMetricsSnapshot | undefined,
  samples: (s: SmtpMetricsSnapshot) => Sample[]): { name: string; help: string; type: string; aggregator: string; get(): Promise<object>; reset(): void } {
  return {
    name, help, type, aggregator: 'sum',
    get: async () => {
      const s = read();
      return { name, help, type, aggregator: 'sum', values: s === undefined ? [] : samples(s) };
    },
    reset: () => {},
  };
}

/** Registers the SMTP metrics; `current` gives the source's snapshot (or undefined: none yet). */
export function registerSmtpMetrics(registry: Registry, source: () => SmtpMetricsSource | undefined): void {
  const read = () => {
    try {
      return source()?.snapshot();
    } catch {
      return undefined;
    }
  };
  const defs = [
    fromSnapshot('qmta_smtp_connections_total', 'SMTP connections by listener and result', 'counter', read,
      (s) => s.connections.map((c) => ({ labels: { listener: c.listener, result: c.result }, value: c.count }))),
    fromSnapshot('qmta_smtp_messages_total', 'SMTP messages accepted or refused, by reply code', 'counter', read,
      (s) => s.messages.map((m) => ({ labels: { result: m.result, code: m.code }, value: m.count }))),
    fromSnapshot('qmta_smtp_auth_total', 'SMTP AUTH attempts by mechanism and result', 'counter', read,
      (s) => s.auth.map((a) => ({ labels: { mechanism: a.mechanism, result: a.result }, value: a.count }))),
    fromSnapshot('qmta_smtp_sessions_total', 'SMTP sessions by listener', 'counter', read,
      (s) => s.sessions.map((x) => ({ labels: { listener: x.listener }, value: x.total }))),
    fromSnapshot('qmta_smtp_starttls_total', 'SMTP sessions that switched to TLS with STARTTLS', 'counter', read,
      (s) => s.sessions.map((x) => ({ labels: { listener: x.listener }, value: x.starttls }))),
    fromSnapshot('qmta_smtp_open_sessions', 'SMTP sessions open now', 'gauge', read,
      (s) => s.sessions.map((x) => ({ labels: { listener: x.listener }, value: x.open }))),
    fromSnapshot('qmta_smtp_received_bytes_total', 'message bytes received over SMTP', 'counter', read,
      (s) => [{ value: s.receivedBytes }]),
    fromSnapshot('qmta_smtp_rcpt_reused_total', 'RCPTs answered again by the core without asking the policy side', 'counter', read,
      (s) => [{ value: s.rcptReused }]),
    fromSnapshot('qmta_smtp_session_seconds', 'SMTP session length', 'histogram', read, (s) => {
      const h = s.sessionSeconds;
      const name = 'qmta_smtp_session_seconds';
      return [
        ...h.le.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i] ?? 0 })),
        { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count },
        { metricName: `${name}_sum`, value: h.sum },
        { metricName: `${name}_count`, value: h.count },
      ];
    }),
  ];
  for (const d of defs) registry.registerMetric(d as unknown as Parameters<Registry['registerMetric']>[0]);
}
