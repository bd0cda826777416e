// The delivery engine's metrics, taken from the records it logs (qmail-send's lines, the
// same ones `qmta stats` reads: ts/log sendEvents), through a tap on the daemon's logger:
// no counter is scattered through the scheduler, and both delivery paths are counted alike.
//
// Interface: new DeliveryMetrics(registry); observe(record) (the tap; does nothing while
// `enabled` is false); recent() -> the last deliveries and failures and per-minute counts,
// for the status page.
// Metrics: qmta_messages_queued_total, qmta_queued_bytes_total (bytes into the queue),
// qmta_deliveries_total{channel,result}, qmta_delivered_bytes_total{channel} (bytes out),
// qmta_bounces_total, qmta_double_bounces_total, qmta_triple_bounces_total,
// qmta_messages_completed_total; histograms qmta_delivery_delay_seconds (arrival to final
// delivery, per recipient), qmta_delivery_attempt_seconds (one attempt),
// qmta_queue_time_seconds (arrival to end msg, per message).
// Guarantees: memory bounded: messages seen arriving (MAX_MESSAGES) and deliveries in flight
// (MAX_DELIVERIES) are kept in maps that drop their oldest entry when full; a message that
// arrived before this process started has no arrival time: its delays are not observed.

import { Counter, Histogram, type Registry } from 'prom-client';

const MAX_MESSAGES = 200_000;
const MAX_DELIVERIES = 10_000;
const RECENT = 20;
const MINUTES = 30;
const DELAY_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600];
const ATTEMPT_BUCKETS = [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 1200];

export interface RecentDelivery {
  readonly time: number;
  readonly channel: string;
  readonly recipient: string;
  readonly result: string;
  readonly report: string;
}

export interface MinuteCounts {
  /** Start of the minute, ms since the epoch. */
  readonly t: number;
  success: number;
  failure: number;
  deferral: number;
  queued: number;
}

interface Message { readonly birth: number; readonly bytes: number; readonly nullSender: boolean }
interface Flight { readonly id: string; readonly channel: string; readonly recipient: string; readonly start: number }

type Rec = Record<string, unknown>;

export class DeliveryMetrics {
  enabled = false;
  private readonly messages = new Map<string, Message>();
  private readonly flights = new Map<number, Flight>();
  private readonly lastDeliveries: RecentDelivery[] = [];
  private readonly lastFailures: RecentDelivery[] = [];
  private readonly minutes: MinuteCounts[] = [];
  private readonly queued: Counter;
  private readonly queuedBytes: Counter;
  private readonly deliveries: Counter<'channel' | 'result'>;
  private readonly deliveredBytes: Counter<'channel'>;
  private readonly bounces: Counter;
  private readonly doubleBounces: Counter;
  private readonly tripleBounces: Counter;
  private readonly completed: Counter;
  private readonly delay: Histogram;
  private readonly attempt: Histogram;
  private readonly queueTime: Histogram;

  constructor(registry: Registry, private readonly now: () => number = Date.now) {
    const registers = [registry];
    this.queued = new Counter({ name: 'qmta_messages_queued_total', help: 'messages taken into the queue (qmail-send: info msg)', registers });
    this.queuedBytes = new Counter({ name: 'qmta_queued_bytes_total', help: 'bytes of the messages taken into the queue', registers });
    this.deliveries = new Counter({ name: 'qmta_deliveries_total', help: 'delivery attempts by channel and result', labelNames: ['channel', 'result'], registers });
    this.deliveredBytes = new Counter({ name: 'qmta_delivered_bytes_total', help: 'message bytes delivered, per successful recipient', labelNames: ['channel'], registers });
    this.bounces = new Counter({ name: 'qmta_bounces_total', help: 'bounce messages sent (double bounces included)', registers });
    this.doubleBounces = new Counter({ name: 'qmta_double_bounces_total', help: 'bounces of bounces, sent to the postmaster', registers });
    this.tripleBounces = new Counter({ name: 'qmta_triple_bounces_total', help: 'failed double bounces, discarded', registers });
    this.completed = new Counter({ name: 'qmta_messages_completed_total', help: 'messages finished and removed from the queue', registers });
    this.delay = new Histogram({ name: 'qmta_delivery_delay_seconds', help: 'arrival to final delivery (success or failure), per recipient', buckets: DELAY_BUCKETS, registers });
    this.attempt = new Histogram({ name: 'qmta_delivery_attempt_seconds', help: 'length of one delivery attempt', buckets: ATTEMPT_BUCKETS, registers });
    this.queueTime = new Histogram({ name: 'qmta_queue_time_seconds', help: 'arrival to removal from the queue, per message', buckets: DELAY_BUCKETS, registers });
    for (const channel of ['local', 'remote']) {
      for (const result of ['success', 'failure', 'deferral']) this.deliveries.inc({ channel, result }, 0);
      this.deliveredBytes.inc({ channel }, 0);
    }
  }

  /** One log record (the tap). */
  observe(o: object): void {
    if (!this.enabled) return;
    const r = o as Rec;
    switch (r.event) {
      case 'new msg': return this.arrived(r);
      case 'info msg': return this.info(r);
      case 'starting delivery': return this.starting(r);
      case 'delivery': return this.delivered(r);
      case 'bounce msg': return this.bounced(r);
      case 'triple bounce': return this.tripleBounces.inc();
      case 'end msg': return this.ended(r);
      default:
    }
  }

  /** The last deliveries and failures, newest first, and the last 30 minutes' counts. */
  recent(): { deliveries: RecentDelivery[]; failures: RecentDelivery[]; minutes: MinuteCounts[] } {
    this.minute();
    return { deliveries: [...this.lastDeliveries].reverse(), failures: [...this.lastFailures].reverse(), minutes: this.minutes.map((m) => ({ ...m })) };
  }

  private arrived(r: Rec): void {
    if (typeof r.id !== 'string') return;
    bounded(this.messages, MAX_MESSAGES);
    this.messages.set(r.id, { birth: this.now(), bytes: 0, nullSender: false });
  }

  private info(r: Rec): void {
    if (typeof r.id !== 'string' || typeof r.bytes !== 'number') return;
    const m = this.messages.get(r.id);
    if (m !== undefined) this.messages.set(r.id, { birth: m.birth, bytes: r.bytes, nullSender: r.sender === '' });
    this.queued.inc();
    this.queuedBytes.inc(r.bytes);
    this.minute().queued++;
  }

  private starting(r: Rec): void {
    if (typeof r.delivery !== 'number' || typeof r.id !== 'string') return;
    bounded(this.flights, MAX_DELIVERIES);
    this.flights.set(r.delivery, { id: r.id, channel: String(r.channel), recipient: String(r.recipient), start: this.now() });
  }

  private delivered(r: Rec): void {
    const f = typeof r.delivery === 'number' ? this.flights.get(r.delivery) : undefined;
    const result = r.result;
    if (f === undefined || (result !== 'success' && result !== 'failure' && result !== 'deferral')) return;
    this.flights.delete(r.delivery as number);
    const now = this.now();
    this.deliveries.inc({ channel: f.channel, result });
    this.attempt.observe((now - f.start) / 1000);
    this.minute()[result]++;
    const m = this.messages.get(f.id);
    if (m !== undefined && result !== 'deferral') this.delay.observe((now - m.birth) / 1000);
    if (m !== undefined && result === 'success') this.deliveredBytes.inc({ channel: f.channel }, m.bytes);
    const line = { time: now, channel: f.channel, recipient: f.recipient, result, report: String(r.report ?? '').slice(0, 300) };
    push(this.lastDeliveries, line);
    if (result !== 'success') push(this.lastFailures, line);
  }

  private bounced(r: Rec): void {
    this.bounces.inc();
    if (typeof r.id === 'string' && this.messages.get(r.id)?.nullSender) this.doubleBounces.inc();
  }

  private ended(r: Rec): void {
    this.completed.inc();
    if (typeof r.id !== 'string') return;
    const m = this.messages.get(r.id);
    this.messages.delete(r.id);
    if (m !== undefined) this.queueTime.observe((this.now() - m.birth) / 1000);
  }

  /** The current minute's counts (older minutes beyond MINUTES are dropped). */
  private minute(): MinuteCounts {
    const t = Math.floor(this.now() / 60_000) * 60_000;
    let last = this.minutes.at(-1);
    if (last !== undefined && t - last.t > MINUTES * 60_000) {
      this.minutes.length = 0;
      last = undefined;
    }
    while (last === undefined || last.t < t) {
      last = { t: last === undefined ? t : last.t + 60_000, success: 0, failure: 0, deferral: 0, queued: 0 };
      this.minutes.push(last);
      if (this.minutes.length > MINUTES) this.minutes.shift();
    }
    return last;
  }
}

function bounded<K, V>(map: Map<K, V>, max: number): void {
  if (map.size < max) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

function push<T>(list: T[], x: T): void {
  list.push(x);
  if (list.length > RECENT) list.shift();
}
