// A custom local delivery target (the embedding API's `store` option): a function of the
// application takes qmail-local's place for the local recipients it claims and keeps each
// one's copy wherever it wants (a database, an object store, an HTTP service).
//
// Interface: withStore(local, store, original) -> LocalDelivery & { close() }: a recipient the store
// claims (store.recipients(address), default: every local recipient) goes to
// store.deliver(delivery), any other to `local` (dot-qmail, maildir). storeClaims(store,
// address) -> Outcome<boolean> answers the same question at RCPT time (a claimed
// recipient is known: no users/assign lookup, and it always goes through the queue,
// never a direct maildir write). checkStore(store) validates the option (TypeError).
// Guarantees, a maildir's: one call per recipient, so results are per recipient; a
// recipient is delivered only once deliver() has resolved (then the scheduler writes its
// done mark): at-least-once, so after a crash or a timeout the same id and recipient come
// again (use them as the key that makes the store idempotent); a deferral is retried on
// qmail's local schedule until control/queuelifetime, a refusal bounces.
// The message stream carries the queued bytes: LF line ends, the Received line qmta added
// first; no Return-Path or Delivered-To line (the envelope is given beside it).
// Failures: deliver() throws or returns a malformed result -> temp 4.3.0 (unknown means
// temporary: never a bounce); no answer within timeoutMs -> temp 4.3.0, the signal is
// aborted and the stream destroyed, a later answer is ignored; close() (the engine's stop,
// after the scheduler's grace) -> temp 4.3.0 the same way; recipients() throws ->
// temp 4.3.0 (where the copy should go is unknown).

import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';
import type { LocalDelivery, LocalRequest } from '../send/types.js';

/** One recipient's copy, handed to {@link LocalStore.deliver}. */
export interface StoreDelivery {
  /** The queue id; with `recipient`, the same on every attempt of this delivery. */
  readonly id: string;
  /** The envelope sender ('' for a bounce), VERP-expanded for this recipient. */
  readonly sender: string;
  /** The recipient, as the envelope had it (before any control/virtualdomains prefix). */
  readonly recipient: string;
  /** The message: the queued bytes with LF line ends. Read it or not; it is closed after the call. */
  readonly message: Readable;
  /** The message's size in bytes. */
  readonly size: number;
  /** Aborted when the call runs out of time (timeoutMs): stop writing, the delivery is deferred. */
  readonly signal: AbortSignal;
}

/**
 * What deliver() resolves with: nothing (or a report string) when the copy is stored; a
 * refusal, which bounces; a deferral, which is retried on qmail's schedule.
 * `status` is an RFC 3463 code of the right class (5.x.x refuse, 4.x.x defer; default
 * 5.0.0 and 4.0.0); `text` one line of at most 400 characters.
 */
export type StoreResult = void | string | StoreRefusal | StoreDeferral;

/** The store will never take this copy: the recipient bounces with `text`. */
export interface StoreRefusal {
  /** Refuse: a permanent failure. */
  readonly action: 'refuse';
  /** RFC 3463 status, 5.x.x (default 5.0.0). */
  readonly status?: string;
  /** The reason, one line of at most 400 characters, quoted in the bounce. */
  readonly text?: string;
}

/** The store cannot take this copy now: the delivery is retried on qmail's schedule. */
export interface StoreDeferral {
  /** Defer: a temporary failure. */
  readonly action: 'defer';
  /** RFC 3463 status, 4.x.x (default 4.0.0). */
  readonly status?: string;
  /** The reason, one line of at most 400 characters (logged; in the bounce if it never succeeds). */
  readonly text?: string;
}

/** A custom local delivery target (the `store` option of createMta). */
export interface LocalStore {
  /** Stores one recipient's copy; see {@link StoreResult}. A throw defers (4.3.0). */
  deliver(delivery: StoreDelivery): Promise<StoreResult> | StoreResult;
  /**
   * Which local recipients go to deliver() (default: all). Called with the address as the
   * envelope has it, at RCPT time and at delivery: answer at once, the same way each time.
   * Recipients it refuses take qmail's dot-qmail path (users/assign, maildir).
   */
  recipients?(address: string): boolean;
  /** Time limit of one deliver() call in ms (default 300000); past it the delivery is deferred. */
  readonly timeoutMs?: number;
}

export const STORE_TIMEOUT_MS = 300_000;
const MAX_TEXT = 400;

/** Throws a TypeError naming what is wrong with a `store` option. */
export function checkStore(store: LocalStore): void {
  if (typeof store?.deliver !== 'function') throw new TypeError('store.deliver must be a function');
  if (store.recipients !== undefined && typeof store.recipients !== 'function') throw new TypeError('store.recipients must be a function');
  const t = store.timeoutMs;
  if (t !== undefined && !(Number.isInteger(t) && t > 0 && t <= 2 ** 31 - 1)) throw new TypeError('store.timeoutMs must be a positive integer (ms)');
}

/** Whether the store takes `address` (false without a store); a throwing recipients() is temp 4.3.0. */
export function storeClaims(store: LocalStore | undefined, address: string): Outcome<boolean> {
  if (!store) return ok(false);
  try {
    return ok((store.recipients?.(address) ?? true) === true);
  } catch (err) {
    return temp('4.3.0', `store.recipients failed: ${oneLine(err)}`);
  }
}

/** The local channel with the store in front of qmail-local (see the header); close() ends the calls in flight. */
export function withStore(local: LocalDelivery, store: LocalStore, original: (routed: string) => string): LocalDelivery & { close(): Promise<void> } {
  const inFlight = new Set<(f: Failure) => void>();
  return {
    async deliver(req: LocalRequest): Promise<Outcome<string>> {
      const recipient = original(req.recipient);
      const claimed = storeClaims(store, recipient);
      if (claimed.kind !== 'ok') return claimed;
      return claimed.value ? deliverToStore(store, req, recipient, inFlight) : local.deliver(req);
    },
    async close() {
      // The scheduler has stopped waiting: these deliveries are not done and run again at the next start.
      for (const end of inFlight) end(temp('4.3.0', 'qmta stopped during the delivery; will retry'));
    },
  };
}

/** One call of store.deliver, bounded by its time limit; `inFlight` lets close() end it early. */
async function deliverToStore(store: LocalStore, req: LocalRequest, recipient: string, inFlight: Set<(f: Failure) => void>): Promise<Outcome<string>> {
  const limit = store.timeoutMs ?? STORE_TIMEOUT_MS;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let end: ((f: Failure) => void) | undefined;
  const file = await open(req.bodyPath, 'r');
  const message = file.createReadStream({ autoClose: true });
  try {
    const { size } = await file.stat();
    const cut = new Promise<Outcome<string>>((resolve) => {
      end = (f) => {
        abort.abort(new Error(f.text));
        resolve(f);
      };
      inFlight.add(end);
      timer = setTimeout(() => end!(temp('4.3.0', `the store gave no answer within ${limit} ms; will retry`)), limit);
    });
    const called = (async () => toOutcome(await store.deliver({ id: req.id, sender: req.sender, recipient, message, size, signal: abort.signal })))();
    return await Promise.race([called.catch((err: unknown) => temp('4.3.0', `store failed: ${oneLine(err)}`)), cut]);
  } finally {
    clearTimeout(timer);
    if (end) inFlight.delete(end);
    message.destroy();
  }
}

/** Checks what deliver() returned; anything malformed is a temporary failure. */
export function toOutcome(r: StoreResult): Outcome<string> {
  if (r === undefined) return ok('stored by the application');
  if (typeof r === 'string') return goodText(r) ? ok(r) : malformed('a report that is not one line of at most 400 characters');
  if (typeof r !== 'object' || r === null) return malformed(`a ${typeof r}`);
  const action = (r as { action?: unknown }).action;
  if (action !== 'refuse' && action !== 'defer') return malformed(`action ${JSON.stringify(action)}`);
  const digit = action === 'refuse' ? '5' : '4';
  const status = r.status ?? `${digit}.0.0`;
  const text = r.text ?? (action === 'refuse' ? 'Refused by the application.' : 'Deferred by the application.');
  if (typeof status !== 'string' || !/^[45]\.\d{1,3}\.\d{1,3}$/.test(status) || status[0] !== digit) {
    return malformed(`status ${JSON.stringify(status)} for ${action}`);
  }
  if (typeof text !== 'string' || !goodText(text)) return malformed('a text that is not one line of at most 400 characters');
  return action === 'refuse' ? perm(status, text) : temp(status, text);
}

function goodText(s: string): boolean {
  return s.length <= MAX_TEXT && !/[\r\n\0]/.test(s);
}

function malformed(what: string): Outcome<string> {
  return temp('4.3.0', `the store returned a malformed result (${what}); will retry`);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/[\r\n\0]+/g, ' ').slice(0, MAX_TEXT);
}
