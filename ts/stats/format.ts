// The text form of a stats Report: qmailanalog's reports as aligned tables, for a terminal.
//
// Interface: formatReport(report) -> text. Sections: input (lines read, corrupt, foreign...),
// overall (zoverall), deliveries by channel, SMTP, domains (zddist + zrxdelay), senders
// (zsenders), recipients (zrecipients), failures (zfailures), deferrals (zdeferrals). A table
// that dropped keys says so under its title.

import type { Delays, Report, Table } from './report.js';

/** Right-aligns numbers (with `right`, every column but the first), left-aligns text. */
export function columns(rows: readonly (readonly (string | number)[])[], right = false): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, String(c).length); });
  return rows.map((r) => r.map((c, i) => {
    const s = String(c);
    const last = i === r.length - 1;
    return typeof c === 'number' || (right && i > 0) ? s.padStart(widths[i]!) : last ? s : s.padEnd(widths[i]!);
  }).join('  ').trimEnd()).join('\n');
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
const delayRow = (name: string, d: Delays) => [name, d.count, d.avg, d.p50, d.p90, d.p99, d.max];

function section<R>(title: string, t: Table<R>, head: string[], row: (r: R & { key: string }) => (string | number)[]): string {
  const note = t.exact ? '' : `(bounded table: ${t.distinct} kept; each figure may be low by at most ${t.maxError})\n`;
  const body = t.rows.length === 0 ? '(none)' : columns([head, ...t.rows.map(row)]);
  return `${title}\n${note}${body}\n`;
}

/** The whole report as text. */
export function formatReport(r: Report): string {
  const { input: i, overall: o } = r;
  const out: string[] = [];
  out.push(`Input: ${i.lines} lines, ${i.records} records, ${i.corrupt} corrupt, ${i.foreign} foreign, ${i.overlong} overlong` +
    `${i.outside ? `, ${i.outside} outside the time range` : ''}${i.evicted ? `, ${i.evicted} evicted from matching` : ''}` +
    `${i.unmatched ? `, ${i.unmatched} deliveries whose start is not in the logs` : ''}`);
  for (const u of i.unreadable) out.push(`Unreadable: ${u.source}: ${u.reason}`);
  out.push(`Time span: ${iso(r.span.first)} .. ${iso(r.span.last)}\n`);
  out.push('Overall\n' + columns([
    ['messages', o.messages], ['bytes', o.bytes], ['completed messages', o.completed],
    ['delivery attempts', o.attempts], ['successful deliveries', o.deliveries.success],
    ['failed deliveries', o.deliveries.failure], ['deferrals', o.deliveries.deferral],
    ['bytes weighted by success', o.successBytes], ['bounces', o.bounces],
    ['double bounces', o.doubleBounces], ['triple bounces', o.tripleBounces],
  ]) + '\n');
  out.push('Delays (seconds)\n' + columns([
    ['', 'count', 'avg', 'p50', 'p90', 'p99', 'max'],
    delayRow('arrival to delivery', o.delay), delayRow('one attempt', o.xdelay), delayRow('time in queue', o.queueTime),
  ]) + '\n');
  out.push('Deliveries by channel\n' + columns([['channel', 'success', 'failure', 'deferral'],
    ...Object.entries(o.byChannel).map(([c, n]) => [c, n.success, n.failure, n.deferral])]) + '\n');
  const s = r.smtp;
  out.push(`SMTP: ${Object.entries(s.sessions).map(([k, n]) => `${n} ${k}`).join(', ') || 'no'} sessions, ${s.tls} with TLS, ` +
    `${s.accepted} messages accepted; replies: ${Object.entries(s.replies).map(([c, n]) => `${c} ${n}`).join(', ') || 'none logged'}\n`);
  out.push(section('Domains', r.domains, ['domain', 'attempts', 'success', 'failure', 'deferral', 'bytes', 'avg delay s', 'avg attempt s'],
    (d) => [d.key || '(none)', d.attempts, d.success, d.failure, d.deferral, d.bytes, d.avgDelay, d.avgXdelay]));
  out.push(section('Senders', r.senders, ['sender', 'messages', 'bytes', 'recipients', 'success'],
    (d) => [`<${d.key}>`, d.messages, d.bytes, d.recipients, d.success]));
  out.push(section('Recipients', r.recipients, ['recipient', 'attempts', 'success', 'failure', 'deferral', 'bytes', 'avg delay s'],
    (d) => [d.key, d.attempts, d.success, d.failure, d.deferral, d.bytes, d.avgDelay]));
  out.push(section('Failures', r.failures, ['count', 'last', 'reason'], (d) => [d.count, iso(d.last), d.key]));
  out.push(section('Deferrals', r.deferrals, ['count', 'last', 'reason'], (d) => [d.count, iso(d.last), d.key]));
  return out.join('\n');
}
