// The statistics of qmta's JSON log records (qmailanalog's matchup + zoverall, zddist,
// zrxdelay, zsenders, zrecipients, zfailures, zdeferrals), accumulated one record at a time.
//
// Interface: new Tally({since, until}); line(text) for each log line (JSON.parse + record);
// record(obj) for an already parsed record; the public fields are the figures (report.ts
// turns them into the report).
// Matching (qmail-send's lines, ts/log): `new msg` starts a message, `info msg` gives its
// bytes and sender, `starting delivery N` opens delivery N (message, channel, recipient),
// `delivery N: result` closes it, `bounce msg`, `triple bounce`, `end msg` ends the message.
// The SMTP service's session summaries (event "smtp session", or the msg "smtp session
// closed") give sessions by listener kind, TLS, messages accepted and `replies` (reply code
// -> count).
// Failures: a line that is not JSON (cut short, damaged, plain text), or a qmail-send record
// with fields of the wrong type, is `corrupt`; JSON that is not a qmta record (no numeric
// time) is `foreign`; both are counted and skipped. Records outside [since, until) update the matching state but count nothing.
// Guarantees: memory is bounded: open messages (MAX_OPEN_MESSAGES) and open deliveries
// (MAX_OPEN_DELIVERIES) evict their oldest entry when full (counted in `evicted`), the
// keyed tables are TopN, delays are Histograms, time series are Series.

import { Histogram } from './histogram.js';
import { Series } from './series.js';
import { TopN } from './topn.js';

export const MAX_OPEN_MESSAGES = 1_000_000;
export const MAX_OPEN_DELIVERIES = 100_000;
const TABLE_ROWS = 20_000;
const REASON_ROWS = 2_000;
const REASON_CHARS = 240;

export type Result = 'success' | 'failure' | 'deferral';
export const RESULTS: readonly Result[] = ['success', 'failure', 'deferral'];

export interface Window {
  readonly since?: number;
  readonly until?: number;
}

interface OpenMessage {
  readonly birth: number;
  bytes: number;
  sender: string | undefined;
}

interface OpenDelivery {
  readonly id: string;
  readonly channel: string;
  readonly recipient: string;
  readonly start: number;
}

export class DomainRow {
  attempts = 0; success = 0; failure = 0; deferral = 0; bytes = 0; delaySum = 0; xdelaySum = 0;
}
export class SenderRow {
  messages = 0; bytes = 0; recipients = 0; success = 0;
}
export class RecipientRow {
  attempts = 0; success = 0; failure = 0; deferral = 0; bytes = 0; delaySum = 0;
}
export class ReasonRow {
  count = 0; last = 0;
}

export class Tally {
  lines = 0;
  records = 0;
  corrupt = 0;
  foreign = 0;
  outside = 0;
  /** Messages or deliveries dropped from the matching state because it was full. */
  evicted = 0;
  first = Infinity;
  last = -Infinity;

  messages = 0;
  bytes = 0;
  completed = 0;
  attempts = 0;
  readonly results: Record<Result, number> = { success: 0, failure: 0, deferral: 0 };
  readonly byChannel = new Map<string, Record<Result, number>>();
  /** Bytes of the message times the recipients it reached (qmailanalog's "weighted by success"). */
  successBytes = 0;
  bounces = 0;
  doubleBounces = 0;
  tripleBounces = 0;
  /** Unmatched `delivery` lines (their `starting delivery` is not in the logs read). */
  unmatched = 0;
  /** Arrival to final delivery (success or failure), per recipient: qmailanalog's ddelay. */
  readonly delay = new Histogram();
  /** One attempt's duration: qmailanalog's xdelay. */
  readonly xdelay = new Histogram();
  /** Arrival to `end msg`, per message. */
  readonly queueTime = new Histogram();

  readonly domains = new TopN(TABLE_ROWS, () => new DomainRow(), (r) => r.attempts);
  readonly senders = new TopN(TABLE_ROWS, () => new SenderRow(), (r) => r.messages);
  readonly recipients = new TopN(TABLE_ROWS, () => new RecipientRow(), (r) => r.attempts);
  readonly failures = new TopN(REASON_ROWS, () => new ReasonRow(), (r) => r.count);
  readonly deferrals = new TopN(REASON_ROWS, () => new ReasonRow(), (r) => r.count);
  readonly series = new Series(RESULTS);

  readonly smtpSessions = new Map<string, number>();
  smtpTls = 0;
  smtpAccepted = 0;
  readonly smtpReplies = new Map<string, number>();

  private readonly open = new Map<string, OpenMessage>();
  private readonly inflight = new Map<number, OpenDelivery>();
  private readonly since: number;
  private readonly until: number;

  constructor(w: Window = {}) {
    this.since = w.since ?? -Infinity;
    this.until = w.until ?? Infinity;
  }

  /** One log line (without its LF). */
  line(text: string): void {
    this.lines++;
    // Status lines (two per delivery, 40% of a busy log) carry no figure: a whole record
    // frame with the status event and a time is counted without a full parse (JSON.parse is
    // three quarters of the time per line). Inside a JSON string a quote is escaped, so the
    // unescaped text below can only be the record's own event.
    if (text.includes('"event":"status"') && text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125) {
      const t = timeOf(text);
      if (t !== undefined) return void this.counted(t);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      this.corrupt++;
      return;
    }
    this.record(obj);
  }

  /** One parsed log record. */
  record(obj: unknown): void {
    if (obj === null || typeof obj !== 'object' || typeof (obj as { time?: unknown }).time !== 'number') {
      this.foreign++;
      return;
    }
    const r = obj as Record<string, unknown>;
    const t = r.time as number;
    if (!this.event(r, t, this.counted(t))) this.corrupt++;
  }

  /** Counts a record at time t; true when t is inside the window. */
  private counted(t: number): boolean {
    this.records++;
    if (t < this.since || t >= this.until) {
      this.outside++;
      return false;
    }
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    return true;
  }

  /** Dispatches on the record's event; false when its fields are not what the event needs. */
  private event(r: Record<string, unknown>, t: number, counted: boolean): boolean {
    switch (r.event) {
      case 'new msg': return this.newMsg(r, t);
      case 'info msg': return this.infoMsg(r, t, counted);
      case 'starting delivery': return this.starting(r, t, counted);
      case 'delivery': return this.delivery(r, t, counted);
      case 'bounce msg': return this.bounce(r, counted);
      case 'triple bounce': if (counted) this.tripleBounces++; return typeof r.id === 'string';
      case 'end msg': return this.endMsg(r, t, counted);
      case 'smtp session': return this.smtp(r, counted);
      default:
        if (r.msg === 'smtp session closed') return this.smtp(r, counted);
        return true;
    }
  }

  private newMsg(r: Record<string, unknown>, t: number): boolean {
    if (typeof r.id !== 'string') return false;
    if (this.open.size >= MAX_OPEN_MESSAGES) this.evictOldest(this.open);
    this.open.delete(r.id);
    this.open.set(r.id, { birth: t, bytes: 0, sender: undefined });
    return true;
  }

  private infoMsg(r: Record<string, unknown>, t: number, counted: boolean): boolean {
    if (typeof r.id !== 'string' || typeof r.bytes !== 'number' || typeof r.sender !== 'string') return false;
    let m = this.open.get(r.id);
    if (m === undefined) {
      this.newMsg(r, t);
      m = this.open.get(r.id)!;
    }
    m.bytes = r.bytes;
    m.sender = r.sender;
    if (!counted) return true;
    this.messages++;
    this.bytes += r.bytes;
    const s = this.senders.row(r.sender);
    s.messages++;
    s.bytes += r.bytes;
    return true;
  }

  private starting(r: Record<string, unknown>, t: number, counted: boolean): boolean {
    const n = r.delivery;
    if (typeof n !== 'number' || typeof r.id !== 'string' || typeof r.channel !== 'string' || typeof r.recipient !== 'string') return false;
    if (this.inflight.size >= MAX_OPEN_DELIVERIES && !this.inflight.has(n)) this.evictOldest(this.inflight);
    this.inflight.set(n, { id: r.id, channel: r.channel, recipient: r.recipient, start: t });
    if (counted) this.attempts++;
    return true;
  }

  private delivery(r: Record<string, unknown>, t: number, counted: boolean): boolean {
    const n = r.delivery;
    const result = r.result;
    if (typeof n !== 'number' || (result !== 'success' && result !== 'failure' && result !== 'deferral')) return false;
    const d = this.inflight.get(n);
    this.inflight.delete(n);
    if (!counted) return true;
    this.results[result]++;
    this.series.add(t, RESULTS.indexOf(result));
    if (d === undefined) {
      this.unmatched++;
      return true;
    }
    this.countDelivery(d, result, t, typeof r.report === 'string' ? r.report : '');
    return true;
  }

  private countDelivery(d: OpenDelivery, result: Result, t: number, report: string): void {
    let ch = this.byChannel.get(d.channel);
    if (ch === undefined) this.byChannel.set(d.channel, ch = { success: 0, failure: 0, deferral: 0 });
    ch[result]++;
    const m = this.open.get(d.id);
    const xdelay = t - d.start;
    this.xdelay.add(xdelay);
    const domain = this.domains.row(domainOf(d.recipient));
    const rcpt = this.recipients.row(d.recipient);
    domain.attempts++;
    rcpt.attempts++;
    domain[result]++;
    rcpt[result]++;
    domain.xdelaySum += xdelay;
    if (result === 'deferral') return void reason(this.deferrals, report, t);
    if (result === 'failure') reason(this.failures, report, t);
    if (m === undefined) return;
    const delay = t - m.birth;
    this.delay.add(delay);
    domain.delaySum += delay;
    rcpt.delaySum += delay;
    if (m.sender !== undefined) {
      const s = this.senders.row(m.sender);
      s.recipients++;
      if (result === 'success') s.success++;
    }
    if (result !== 'success') return;
    this.successBytes += m.bytes;
    domain.bytes += m.bytes;
    rcpt.bytes += m.bytes;
  }

  private bounce(r: Record<string, unknown>, counted: boolean): boolean {
    if (typeof r.id !== 'string') return false;
    if (!counted) return true;
    this.bounces++;
    // A bounce of a bounce (null sender) goes to the postmaster: qmail's double bounce.
    if (this.open.get(r.id)?.sender === '') this.doubleBounces++;
    return true;
  }

  private endMsg(r: Record<string, unknown>, t: number, counted: boolean): boolean {
    if (typeof r.id !== 'string') return false;
    const m = this.open.get(r.id);
    this.open.delete(r.id);
    if (!counted) return true;
    this.completed++;
    if (m !== undefined) this.queueTime.add(t - m.birth);
    return true;
  }

  private smtp(r: Record<string, unknown>, counted: boolean): boolean {
    if (!counted) return true;
    const kind = typeof r.kind === 'string' ? r.kind : 'smtp';
    this.smtpSessions.set(kind, (this.smtpSessions.get(kind) ?? 0) + 1);
    if (r.tls === true) this.smtpTls++;
    if (typeof r.accepted === 'number') this.smtpAccepted += r.accepted;
    const replies = r.replies;
    if (replies !== null && typeof replies === 'object') {
      for (const [code, n] of Object.entries(replies)) {
        if (/^[2-5]\d\d$/.test(code) && typeof n === 'number') this.smtpReplies.set(code, (this.smtpReplies.get(code) ?? 0) + n);
      }
    }
    return true;
  }

  private evictOldest(map: Map<unknown, unknown>): void {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
    this.evicted++;
  }
}

/** The integer after "time": in a record's text, if any. */
function timeOf(text: string): number | undefined {
  const at = text.indexOf('"time":');
  if (at < 0) return undefined;
  let i = at + 7;
  let t = 0;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) t = t * 10 + (c - 48);
  return i === at + 7 ? undefined : t;
}

/** The recipient's domain, lower-cased ("" when it has no @). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

function reason(table: TopN<ReasonRow>, report: string, t: number): void {
  const text = report.replace(/\s+/g, ' ').trim().slice(0, REASON_CHARS);
  const row = table.row(text);
  row.count++;
  if (t > row.last) row.last = t;
}
