// The SMTP metric definitions over the SmtpMetricsSource interface (the SMTP service
// implements the source): a known snapshot, exposed by prom-client and parsed by Python's
// prometheus_client, gives back every figure; a throwing source costs only its samples.

import test from 'ava';
import { Registry } from 'prom-client';
import { registerSmtpMetrics, type SmtpMetricsSnapshot } from '../../ts/metrics/smtp.js';
import { parsePrometheus as parse } from '../helpers/prom.js';

const SNAP: SmtpMetricsSnapshot = {
  connections: [{ listener: 'smtp', result: 'accepted', count: 40 }, { listener: 'smtp', result: 'refused_limit', count: 2 }, { listener: 'submission', result: 'accepted', count: 5 }],
  messages: [{ result: 'accepted', code: 250, count: 30 }, { result: 'refused', code: 552, count: 3 }],
  auth: [{ mechanism: 'PLAIN', result: 'success', count: 5 }, { mechanism: 'PLAIN', result: 'failure', count: 1 }],
  sessions: [{ listener: 'smtp', total: 40, starttls: 10, open: 3 }, { listener: 'submission', total: 5, starttls: 5, open: 0 }],
  receivedBytes: 123_456,
  rcptReused: 77,
  sessionSeconds: { le: [0.1, 1, 10], cumulative: [20, 40, 44], sum: 60.5, count: 45 },
};

test('the SMTP metrics expose the source\'s snapshot exactly, in the Prometheus text format', async (t) => {
  const registry = new Registry();
  let broken = false;
  registerSmtpMetrics(registry, () => ({ snapshot: () => { if (broken) throw new Error('x'); return SNAP; } }));
  const s = parse(await registry.metrics());
  const v = (name: string, labels: Record<string, string> = {}) =>
    s.filter(([n, l]) => n === name && Object.entries(labels).every(([k, x]) => l[k] === x)).map(([, , x]) => x);
  t.deepEqual(v('qmta_smtp_connections_total', { listener: 'smtp', result: 'refused_limit' }), [2]);
  t.deepEqual(v('qmta_smtp_messages_total', { result: 'refused', code: '552' }), [3]);
  t.deepEqual(v('qmta_smtp_auth_total', { result: 'failure' }), [1]);
  t.deepEqual(v('qmta_smtp_starttls_total', { listener: 'smtp' }), [10]);
  t.deepEqual(v('qmta_smtp_sessions_total', { listener: 'submission' }), [5]);
  t.deepEqual(v('qmta_smtp_open_sessions', { listener: 'smtp' }), [3]);
  t.deepEqual(v('qmta_smtp_received_bytes_total'), [123_456]);
  t.deepEqual(v('qmta_smtp_rcpt_reused_total'), [77]);
  t.deepEqual(v('qmta_smtp_session_seconds_bucket'), [20, 40, 44, 45]);
  t.deepEqual(v('qmta_smtp_session_seconds_bucket', { le: '+Inf' }), [45]);
  t.deepEqual([v('qmta_smtp_session_seconds_sum'), v('qmta_smtp_session_seconds_count')], [[60.5], [45]]);
  broken = true;
  t.deepEqual(parse(await registry.metrics()).filter(([n]) => n.startsWith('qmta_smtp')), []);
});
