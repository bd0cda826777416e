// `qmta stats --html FILE`: one self-contained page (no external resource, no script) with
// the report's key figures and charts as inline SVG: deliveries per interval by result, the
// delay distribution, the top domains, deferrals over time, then the domain, failure and
// deferral tables. Every figure sits in an element with a data-figure attribute (tests
// read them).
//
// Interface: reportHtml(report) -> the page's text.
// Guarantees: every text from the logs (addresses, reasons) is HTML-escaped.

import type { Report } from './report.js';
import { svgBars, svgLines } from './svg.js';

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's shared look (also used by the status page). */
export const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1340px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:20px}.charts{display:flex;flex-wrap:wrap;gap:16px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:right}
td:first-child,th:first-child,.text{text-align:left}.bad{color:#b00}`;

function card(key: string, label: string, value: number | string): string {
  return `<div class="card">${esc(label)}<b data-figure="${esc(key)}">${esc(String(value))}</b></div>`;
}

function rowsTable(head: string[], rows: (string | number)[][], name: string): string {
  const tr = (cells: (string | number)[], tag: string) =>
    `<tr>${cells.map((c) => `<${tag}${typeof c === 'string' ? ' class="text"' : ''}>${esc(String(c))}</${tag}>`).join('')}</tr>`;
  return `<table data-table="${name}">${tr(head, 'th')}${rows.map((r) => tr(r, 'td')).join('')}</table>`;
}

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

/** The report as one HTML page. */
export function reportHtml(r: Report): string {
  const o = r.overall;
  const xs = r.series.points.map((p) => p.t);
  const per = `${r.series.widthMs / 60_000} min`;
  const line = (name: string, color: string) => ({ name, color, values: r.series.points.map((p) => p.counts[name] ?? 0) });
  const bucketLabel = (le: number | null, i: number) => (le === null ? `> ${r.delayBuckets[i - 1]?.le ?? 0} s` : `<= ${le} s`);
  const domains = r.domains.rows.slice(0, 15);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qmta stats</title><style>${STYLE}</style></head><body>
<h1>qmta delivery statistics</h1>
<p>${esc(when(r.span.first))} to ${esc(when(r.span.last))}. Input: <span data-figure="lines">${r.input.lines}</span> lines,
<span data-figure="corrupt">${r.input.corrupt}</span> corrupt, <span data-figure="foreign">${r.input.foreign}</span> foreign.</p>
<div class="cards">${card('messages', 'messages', o.messages)}${card('bytes', 'bytes', o.bytes)}${card('success', 'delivered', o.deliveries.success)}
${card('failure', 'failed', o.deliveries.failure)}${card('deferral', 'deferrals', o.deliveries.deferral)}${card('bounces', 'bounces', o.bounces)}
${card('delay-avg', 'avg delay s', o.delay.avg)}${card('delay-p90', 'p90 delay s', o.delay.p90)}</div>
<div class="charts">
${svgLines(xs, [line('success', '#2a8f3c'), line('failure', '#c0392b'), line('deferral', '#e0a800')], { title: `Deliveries per ${per} by result` })}
${svgBars(r.delayBuckets.map((b, i) => bucketLabel(b.le, i)), r.delayBuckets.map((b) => b.count), { title: 'Delay, arrival to delivery' })}
${svgBars(domains.map((d) => d.key || '(none)'), domains.map((d) => d.attempts), { title: 'Top domains by attempts', color: '#7a5cc0' })}
${svgLines(xs, [line('deferral', '#e0a800')], { title: `Deferrals per ${per}` })}
</div>
<h2>Domains</h2>${rowsTable(['domain', 'attempts', 'success', 'failure', 'deferral', 'bytes', 'avg delay s'],
    r.domains.rows.map((d) => [d.key, d.attempts, d.success, d.failure, d.deferral, d.bytes, d.avgDelay]), 'domains')}
<h2>Failures</h2>${rowsTable(['count', 'reason'], r.failures.rows.map((d) => [d.count, d.key]), 'failures')}
<h2>Deferrals</h2>${rowsTable(['count', 'reason'], r.deferrals.rows.map((d) => [d.count, d.key]), 'deferrals')}
</body></html>
`;
}
