// The SMTP service's metrics source (ts/metrics/smtp.ts SmtpMetricsSource): the core's
// cumulative counters (crates/smtp-server counters.rs), read at scrape time and put in the
// snapshot's shape. Counting itself happens in the core; nothing here runs per message.

import type { SmtpMetricsSnapshot } from '../metrics/smtp.js';
import type { SmtpCounters } from '../native.js';

/** The metrics snapshot of the core's counters. */
export function smtpMetrics(c: SmtpCounters): SmtpMetricsSnapshot {
  return {
    connections: c.connections.map((x) => ({ listener: x.listener, result: x.result, count: x.count })),
    messages: c.dataReplies.map(([code, count]) => ({ result: code === 250 ? 'accepted' : 'refused', code: code!, count: count! })),
    auth: c.auth.flatMap((a) => [
      { mechanism: a.mechanism, result: 'success' as const, count: a.success },
      { mechanism: a.mechanism, result: 'failure' as const, count: a.failure },
    ]),
    sessions: c.sessions.map((s) => ({ listener: s.listener, total: s.total, starttls: s.starttls, open: s.open })),
    receivedBytes: c.receivedBytes,
    rcptReused: c.rcptReused,
    sessionSeconds: { le: c.sessionBounds, cumulative: c.sessionCumulative, sum: c.sessionSeconds, count: c.sessionCount },
  };
}
