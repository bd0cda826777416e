// The scheduler's dependencies and settings: what ts/send needs from the rest of qmta,
// as small interfaces so unit tests can pass fakes and the daemon passes the real pieces.
//
// Constraint shared with ts/local (LocalDelivery) and ts/bounce (BounceSink): a delivery
// or a bounce never throws for a mail failure; it resolves with an Outcome. A throw is
// recorded by the scheduler as temp 4.3.0.

import type { Outcome } from '../outcome.js';
import type { Channel, MessageId } from '../queue/types.js';

/** Time and timers, injected so tests can drive the retry schedule. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Timers are unref'd: a pending retry never keeps the process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LocalRequest {
  readonly id: MessageId;
  readonly bodyPath: string;
  /** Envelope sender, VERP-expanded for this recipient. */
  readonly sender: string;
  /** The recipient after routing (virtualdomains prepend included). */
  readonly recipient: string;
}

/** One local delivery (qmail-local's role): ok carries the report ("did 1+0+0"). */
export interface LocalDelivery {
  deliver(req: LocalRequest): Promise<Outcome<string>>;
  close?(): Promise<void>;
}

/** Splits recipients into channels (control/locals, virtualdomains, percenthack, envnoathost). */
export interface Router {
  route(recipients: readonly string[]): { local: string[]; remote: string[] };
  /** The address the sender used, with any virtualdomains prepend removed (bounce paragraphs). */
  original?(address: string): string;
}

export interface BounceRequest {
  readonly id: MessageId;
  readonly sender: string;
  readonly bodyPath: string;
  /** The accumulated failure paragraphs (queue/bounce). */
  readonly paragraphs: string;
}

/** Result of a bounce: the new message's id, or 'dropped' for a triple bounce. */
export type BounceResult = { readonly queued: MessageId } | { readonly dropped: true };

/** Builds and queues the bounce of a finished message (ts/bounce). */
export interface BounceSink {
  send(req: BounceRequest): Promise<Outcome<BounceResult>>;
}

export interface SendSettings {
  /** control/concurrencylocal (default 10); 0 holds local deliveries. */
  readonly concurrencyLocal: number;
  /** control/concurrencyremote (default 20); 0 holds remote deliveries. */
  readonly concurrencyRemote: number;
  /** control/queuelifetime in seconds (default 604800). */
  readonly queueLifetime: number;
}

export const defaultSendSettings: SendSettings = {
  concurrencyLocal: 10,
  concurrencyRemote: 20,
  queueLifetime: 604800,
};

/** One recipient's delivery attempt and its result (the delivered, deferred and failed events). */
export interface DeliveryEvent {
  /** The message's queue id. */
  readonly id: MessageId;
  /** Which side delivered it: local (dot-qmail, a store) or remote (SMTP). */
  readonly channel: Channel;
  /** The recipient, as routed (after control/virtualdomains). */
  readonly recipient: string;
  /** Human-readable report (success text, or failure text with its (#x.y.z)). */
  readonly report: string;
}

/** What the embedding API and tests listen to. Every method is optional. */
export interface SendListener {
  delivered?(e: DeliveryEvent): void;
  deferred?(e: DeliveryEvent): void;
  failed?(e: DeliveryEvent): void;
  bounced?(e: { readonly id: MessageId; readonly bounce: MessageId | undefined }): void;
  done?(e: { readonly id: MessageId }): void;
}
