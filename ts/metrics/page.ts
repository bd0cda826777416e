// The live status page (GET /) and its data (GET /status.json): the queue by state and by
// domain and age, delivery counts, rates for the last 30 minutes, the last deliveries and
// failures. The page is one HTML file with its own script (the chart functions of
// ts/stats/svg.ts inlined as source): no external resource, refreshed every 3 seconds.
//
// Interface: statusJson(registry, delivery, queue) -> the data; statusPage() -> the HTML.
// Guarantees: the totals are read from the same prom-client registry as /metrics, so both
// show the same numbers; the page writes log text (addresses, reports) with textContent.

import type { Registry } from 'prom-client';
import { STYLE } from '../stats/html.js';
import { svgBars, svgLines } from '../stats/svg.js';
import type { DeliveryMetrics } from './delivery.js';
import type { QueueView } from './queue.js';

type Json = { name: string; values: { value: number; labels: Record<string, string | number> }[] }[];

/** The sum of a metric's samples whose labels match `where`. */
function total(metrics: Json, name: string, where: Record<string, string> = {}): number {
  const m = metrics.find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(where).every(([k, w]) => String(v.labels[k]) === w)).reduce((a, v) => a + v.value, 0);
}

/** Everything the page shows. */
export async function statusJson(registry: Registry, delivery: DeliveryMetrics, queue: QueueView): Promise<object> {
  const m = (await registry.getMetricsAsJSON()) as unknown as Json;
  const shape = queue.shape();
  const figures = {
    queued: total(m, 'qmta_messages_queued_total'),
    success: total(m, 'qmta_deliveries_total', { result: 'success' }),
    failure: total(m, 'qmta_deliveries_total', { result: 'failure' }),
    deferral: total(m, 'qmta_deliveries_total', { result: 'deferral' }),
    bounces: total(m, 'qmta_bounces_total'),
    'queue-todo': total(m, 'qmta_queue_messages', { state: 'todo' }),
    'queue-local': total(m, 'qmta_queue_messages', { state: 'local' }),
    'queue-remote': total(m, 'qmta_queue_messages', { state: 'remote' }),
    'queue-deferred': total(m, 'qmta_queue_messages', { state: 'deferred' }),
    'oldest-age': Math.round(total(m, 'qmta_queue_oldest_message_age_seconds')),
    'local-in-use': total(m, 'qmta_concurrency_in_use', { channel: 'local' }),
    'remote-in-use': total(m, 'qmta_concurrency_in_use', { channel: 'remote' }),
  };
  const domains = shape === undefined ? [] : [...shape.rows].map(([d, c]) => ({ domain: d, total: c.reduce((a, b) => a + b, 0), counts: c }))
    .sort((a, b) => b.total - a.total).slice(0, 10);
  return { time: Date.now(), figures, queue: { edgesMin: shape?.edgesMin ?? [], domains }, ...delivery.recent() };
}

const CARDS: [string, string][] = [
  ['queued', 'messages queued'], ['success', 'delivered'], ['failure', 'failed'], ['deferral', 'deferrals'], ['bounces', 'bounces'],
  ['queue-todo', 'todo'], ['queue-local', 'local queue'], ['queue-remote', 'remote queue'], ['queue-deferred', 'deferred'],
  ['oldest-age', 'oldest message, s'], ['local-in-use', 'local deliveries now'], ['remote-in-use', 'remote deliveries now'],
];

/** The page; its script renders /status.json every 3 s. */
export function statusPage(): string {
  const cards = CARDS.map(([k, label]) => `<div class="card">${label}<b data-figure="${k}">-</b></div>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qmta status</title><style>${STYLE}
[data-table] td,[data-table] th{text-align:left}</style></head><body>
<h1>qmta status <small id="updated"></small></h1>
<div class="cards">${cards}</div>
<div class="charts"><div id="rates"></div><div id="domains"></div></div>
<h2>Last deliveries</h2><table data-table="deliveries"></table>
<h2>Last failures and deferrals</h2><table data-table="failures"></table>
<script>
const svgLines = ${svgLines.toString()};
const svgBars = ${svgBars.toString()};
function rows(table, list) {
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ['time', 'channel', 'recipient', 'result', 'report']) { const c = document.createElement('th'); c.textContent = h; head.appendChild(c); }
  for (const d of list) {
    const r = table.insertRow();
    for (const v of [new Date(d.time).toISOString().slice(11, 19), d.channel, d.recipient, d.result, d.report]) r.insertCell().textContent = v;
  }
}
async function refresh() {
  try {
    const s = await (await fetch('/status.json', { cache: 'no-store' })).json();
    for (const [k, v] of Object.entries(s.figures)) { const e = document.querySelector('[data-figure="' + k + '"]'); if (e) e.textContent = String(v); }
    const xs = s.minutes.map((m) => m.t);
    const line = (name, color) => ({ name, color, values: s.minutes.map((m) => m[name]) });
    document.getElementById('rates').innerHTML = svgLines(xs, [line('success', '#2a8f3c'), line('failure', '#c0392b'), line('deferral', '#e0a800'), line('queued', '#4a7bd0')], { title: 'Per minute, last 30 minutes' });
    document.getElementById('domains').innerHTML = svgBars(s.queue.domains.map((d) => d.domain), s.queue.domains.map((d) => d.total), { title: 'Queue by domain', color: '#7a5cc0' });
    rows(document.querySelector('[data-table="deliveries"]'), s.deliveries);
    rows(document.querySelector('[data-table="failures"]'), s.failures);
    document.getElementById('updated').textContent = new Date(s.time).toISOString().slice(11, 19) + ' UTC';
    document.body.dataset.loaded = String(s.time);
  } catch (e) {
    document.getElementById('updated').textContent = 'not updating: ' + e;
  }
}
refresh();
setInterval(refresh, 3000);
</script>
</body></html>
`;
}
