// qmta's embedding API: run the MTA inside a Node program.
//
//   import { createMta } from 'qmta';
//   const mta = await createMta({ home: '/var/qmta', control: { me: 'mx.example', locals: ['example.com'] } });
//   mta.on('delivered', (e) => console.log(e.recipient, e.report));
//   await mta.start();
//   const id = await mta.inject({ from: 'a@example.com', to: ['joe@example.com'], message: Buffer.from('Subject: hi\n\nhello\n') });
//   await mta.stop();
//
// Interface: createMta(options) -> Mta (an EventEmitter with typed events delivered,
// deferred, failed, bounced, done, newmail (ts/notify: one per maildir/mbox written)); start(); inject(); idle(); runQueue(); reload(); stop().
// With options.listen, start() also opens the SMTP and POP3 listeners of control/ (ts/daemon/services.ts,
// as `qmta start`) and stop() closes them first.
// options.store: the application's local delivery target (ts/local/store.ts). options.hooks:
// the SMTP hooks (ts/hooks/), validated (TypeError); the listeners get a HookRunner
// (ServiceContext.hooks) that already carries the store's claim at RCPT.
// inject() queues the message as given (qmail-queue's behaviour: no header rewriting);
// LF line ends are expected, as in the queue.
// Failures: createMta rejects when the home's configuration, users/assign or queue
// cannot be used; inject rejects with an Error whose `code` is QMTA_TEMP or QMTA_PERM and
// whose message is "<status> <text>" (the queue refused or could not commit).
// Guarantees: inject resolves only after the message is durable (fsync'd) in the queue.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createEngine, type Engine, type EngineOptions } from './daemon/engine.js';
import { startServices, stopServices, type RunningService } from './daemon/services.js';
import { ensureHome } from './home/index.js';
import { createLogger, silentLog, type Log, type QmtaLogger } from './log/index.js';
import { isFailure, type Failure } from './outcome.js';
import type { ControlOverrides } from './config/index.js';
import type { NewMailEvent } from './notify/index.js';
import type { MessageId } from './queue/types.js';
import type { RemoteDelivery } from './send/remote.js';
import type { DeliveryEvent } from './send/types.js';
import { checkStore, type LocalStore } from './local/store.js';
import { checkHooks, createHookRunner, type SmtpHooks } from './hooks/index.js';

export type { DeliveryEvent } from './send/types.js';
export type { NewMailEvent } from './notify/index.js';
export type { RemoteDelivery, RemoteRequest, RemoteResult } from './send/remote.js';
export type { Outcome, Ok, Failure, FailureKind } from './outcome.js';
export type { LocalStore, StoreDelivery, StoreResult, StoreRefusal, StoreDeferral } from './local/store.js';
export type { ControlOverrides, ControlName, OverrideValue } from './config/index.js';
export type { Log } from './log/index.js';
export type { Channel, MessageId } from './queue/types.js';
export type { InjectOptions, MessageInput } from './inject/injector.js';
export type { InjectResult } from './inject/inject.js';
export type { RecipientStrategy } from './inject/fixup.js';
export type { Env } from './inject/identity.js';
export type {
  SmtpHooks, HookPoint, HookSession, HookEnvelope, HookContext, HeloInput, AuthInput, AddressInput, DataInput,
  HookVerdict, AuthVerdict, HookAccept, AuthAccept, HookRefuse, HookDefer, HookResult, OneOrMore,
  ConnectHook, HeloHook, AuthHook, MailHook, RcptHook, DataHook,
} from './hooks/index.js';

/** The options of {@link createMta}. Only `home` is required. */
export interface MtaOptions {
  /** The home directory (control/, users/, queue/, mail/, log/); created with defaults when missing. */
  readonly home: string;
  /**
   * Control file values by control file name (`me`, `locals`, `smtplisten`, ...: the README's
   * table), taking the place of the files: a string or number for a one-line file, an
   * array of lines for a list. {@link Mta.reload} keeps them.
   */
  readonly control?: ControlOverrides;
  /** Logging: true (default) = HOME/log/qmta.log; 'stdout'; false = none; or your own logger (pino's shape). */
  readonly log?: boolean | 'stdout' | Log;
  /** Remote delivery to use instead of the built-in SMTP client (e.g. an HTTP API, or a test double). */
  readonly remote?: RemoteDelivery;
  /** Time limit of one |program delivery in ms (default 1 hour). */
  readonly programTimeoutMs?: number;
  /** Bytes of an original's body copied into its bounce after its header (default: control/bouncemaxbytes). */
  readonly bounceMaxBody?: number;
  /**
   * Runs the SMTP and POP3 listeners as `qmta start` does, on the addresses of control/
   * smtplisten, submissionlisten, smtpslisten, pop3listen and pop3slisten (an empty list
   * opens none of that kind). Default false: mail comes in through inject() and send() only.
   */
  readonly listen?: boolean;
  /**
   * Your own local delivery target: the local recipients it claims are handed to
   * store.deliver() with the envelope and the message as a stream, one call per recipient,
   * instead of qmail's dot-qmail delivery; with a maildir's guarantees (at-least-once,
   * qmail's retry schedule for deferrals, a time limit). See {@link LocalStore}.
   */
  readonly store?: LocalStore;
  /**
   * Handlers at the SMTP decision points (connect, helo, auth, mail, rcpt, data) of the
   * listeners `listen` opens, added to qmta's own policy; see {@link SmtpHooks} for their
   * order and failures.
   */
  readonly hooks?: SmtpHooks;
}

/** A message for {@link Mta.inject}: the envelope and the bytes, queued as given. */
export interface InjectRequest {
  /** Envelope sender ('' for a bounce). */
  readonly from: string;
  /** Envelope recipients (at least one). */
  readonly to: readonly string[];
  /** The message with LF line ends, as it will be delivered: bytes or a stream of bytes. */
  readonly message: Buffer | Uint8Array | Readable;
}

/** A message's failure report was sent back to its sender (QSBMF bounce). */
export interface BouncedEvent {
  /** The queue id of the message that bounced. */
  readonly id: MessageId;
  /** The bounce's queue id; undefined when it was dropped (a triple bounce). */
  readonly bounce: MessageId | undefined;
}

/** A message whose every recipient is finished, removed from the queue. */
export interface DoneEvent {
  /** Its queue id. */
  readonly id: MessageId;
}

/** The events an {@link Mta} emits, with their arguments. */
export interface MtaEvents {
  /** A recipient was delivered (report: qmail's success text, e.g. "did 1+0+0"). */
  delivered: [DeliveryEvent];
  /** A delivery failed temporarily: it is retried on qmail's schedule. */
  deferred: [DeliveryEvent];
  /** A delivery failed permanently (or ran out of queuelifetime): it goes into the bounce. */
  failed: [DeliveryEvent];
  /** A message's failures were sent back to its sender. */
  bounced: [BouncedEvent];
  /** A message is finished and removed from the queue. */
  done: [DoneEvent];
  /** A maildir or mbox delivery wrote a new message (qbiff's notice). */
  newmail: [NewMailEvent];
}

/**
 * An MTA running inside this process over one home directory: the queue, the delivery
 * engine (local and remote), bounces, and with {@link MtaOptions.listen} the SMTP and POP3
 * listeners. Make one with {@link createMta}; it emits {@link MtaEvents}. Failures of its
 * methods reject with an Error whose `code` is `QMTA_TEMP` or `QMTA_PERM` and whose
 * message is `"<status> <text>"` (RFC 3463 status).
 */
export class Mta extends EventEmitter<MtaEvents> {
  #engine!: Engine;
  #logger: QmtaLogger | undefined;
  #log: Log = silentLog;
  #started = false;
  #listen = false;
  #hooks: SmtpHooks | undefined;
  #services: RunningService[] = [];

  /** @internal use createMta */
  constructor() {
    super();
  }

  /** @internal */
  static async open(opts: MtaOptions): Promise<Mta> {
    if (opts.store !== undefined) checkStore(opts.store);
    if (opts.hooks !== undefined) checkHooks(opts.hooks);
    const created = await ensureHome(opts.home);
    if (isFailure(created)) throw toError(created);
    const mta = new Mta();
    const log = mta.#log = mta.#makeLog(opts);
    const engineOpts: EngineOptions = {
      home: opts.home, log,
      listener: {
        delivered: (e) => mta.emit('delivered', e),
        deferred: (e) => mta.emit('deferred', e),
        failed: (e) => mta.emit('failed', e),
        bounced: (e) => mta.emit('bounced', e),
        done: (e) => mta.emit('done', e),
      },
      newmail: (e) => mta.emit('newmail', e),
      ...(opts.control ? { control: opts.control } : {}),
      ...(opts.remote ? { remote: opts.remote } : {}),
      ...(opts.programTimeoutMs !== undefined ? { programTimeoutMs: opts.programTimeoutMs } : {}),
      ...(opts.bounceMaxBody !== undefined ? { bounceMaxBody: opts.bounceMaxBody } : {}),
      ...(opts.store ? { store: opts.store } : {}),
    };
    const engine = await createEngine(engineOpts);
    if (isFailure(engine)) throw toError(engine);
    mta.#engine = engine.value;
    mta.#listen = opts.listen === true;
    mta.#hooks = opts.hooks;
    return mta;
  }

  #makeLog(opts: MtaOptions): Log {
    if (opts.log === false) return silentLog;
    if (typeof opts.log === 'object') return opts.log;
    this.#logger = opts.log === 'stdout' ? createLogger({ stdout: true }) : createLogger({ file: join(opts.home, 'log', 'qmta.log') });
    return this.#logger;
  }

  /** The home directory in use (absolute). */
  get home(): string {
    return this.#engine.home;
  }

  /** Recovers the queue and starts delivering; with `listen`, then opens the listeners (rejects when one cannot). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const engine = this.#engine;
    await engine.start();
    if (!this.#listen) return;
    const services = await startServices({
      home: engine.home, config: engine.config, queue: engine.queue, users: engine.users, log: this.#log,
      enqueued: (id) => engine.scheduler.enqueued(id), claimedByStore: (a) => engine.claimedByStore(a),
      direct: engine.direct, keyring: engine.keyring,
      hooks: createHookRunner({ hooks: this.#hooks, log: this.#log, claimedByStore: (a) => engine.claimedByStore(a) }),
    });
    if (isFailure(services)) throw toError(services);
    this.#services = services.value;
  }

  /** Queues a message; resolves with its queue id once it is durable. */
  async inject(req: InjectRequest): Promise<MessageId> {
    const r = await this.#engine.queue.add({ sender: req.from, recipients: [...req.to] }, req.message);
    if (isFailure(r)) throw toError(r);
    return r.value;
  }

  /**
   * Queues a message as `qmta inject` does (INJECT, ts/inject/injector.ts): qmail-inject's
   * header fixups (Date, Message-ID, From, address completion, Bcc dropped; recipients from
   * the header unless options.recipients) run in a worker thread, the message is DKIM-signed
   * with control/dkimkeys, and the body streams into the queue. Resolves with id, sender and recipients once durable; rejects like inject().
   */
  async send(message: import('./inject/injector.js').MessageInput, options: import('./inject/injector.js').InjectOptions = {}): Promise<import('./inject/inject.js').InjectResult> {
    const { injectorFor } = await import('./inject/injector.js');
    const engine = this.#engine;
    const r = await injectorFor(this, () => ({ queue: engine.queue, controls: () => engine.config.current(), keyring: engine.keyring })).inject(message, options);
    if (isFailure(r)) throw toError(r);
    return r.value;
  }

  /** Resolves when no delivery runs, nothing waits for preprocessing and nothing is due now. */
  idle(): Promise<void> {
    return this.#engine.scheduler.whenIdle();
  }

  /** Makes every deferred delivery due now (like `qmta queue run`). */
  runQueue(): void {
    this.#engine.runQueue();
  }

  /** Rereads control/ (and the overrides) and users/assign. */
  async reload(): Promise<void> {
    const r = await this.#engine.reload();
    if (isFailure(r)) throw toError(r);
  }

  /** Closes the listeners, finishes in-flight deliveries (at most graceMs) and stops. */
  async stop(graceMs = 20_000): Promise<void> {
    await stopServices(this.#services);
    this.#services = [];
    await this.#engine.stop(graceMs);
    await this.#logger?.close();
  }
}

/**
 * Opens an MTA over `options.home` (created with working defaults when missing): reads
 * control/ (and `options.control`), users/assign and the queue. Call {@link Mta.start} to
 * recover the queue and start delivering. Rejects with a `QMTA_TEMP` error when the home
 * cannot be used, and with a TypeError for a malformed `store`.
 */
export function createMta(options: MtaOptions): Promise<Mta> {
  return Mta.open(options);
}

function toError(f: Failure): Error {
  return Object.assign(new Error(`${f.status} ${f.text}`), { code: f.kind === 'temp' ? 'QMTA_TEMP' : 'QMTA_PERM' });
}
