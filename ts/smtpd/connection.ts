// One SMTP connection: moves bytes between a socket and its native session, answers the
// session's decisions through the policy, and handles STARTTLS, timeouts and shutdown.
//
// Batching: each socket chunk is fed whole; replies produced while resolving its
// decisions are collected and written once (TCP_NODELAY is on, so one write = one
// segment for a pipelined group). While decisions are resolved the socket is paused,
// so the session never holds more than a chunk of pipelined input; while the client
// does not read its replies (write buffer full) reading stops too, so a pipelining
// client that never reads cannot grow the server's memory.
//
// ETRN is answered by ctx.etrn (etrn.ts); its flush runs in the background.
// Delivery at accept time: each accepted recipient is planned (ctx.planDirect: maildirs
// this process may write, or the queue); at the end of the body the core writes the
// direct ones and queues the rest (crates/accept) before the 250. Recipients whose direct
// write failed are queued by the same commit (logged as a warning).
// Failures: a policy function that throws -> 451 4.3.0 for that command; the commit fails
// -> 451 with its status, or 554 5.4.6 when the message already carries a direct
// recipient's Delivered-To line (qmail-local's loop check, made before the 250 instead of
// a later bounce); never a false 250 (250 only after the commit promise resolved = all
// durable). Read timeout and session limit -> 421 4.4.2 and close. A socket error closes;
// an open body is dropped.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { DirectPlan } from '../local/direct.js';
import { SmtpSessionNative, type CommitReport, type NativeSmtpSettings, type SmtpRecipient, type SmtpDecision, type SmtpReply, type SmtpStep } from '../native.js';
import { assertNever, describe } from '../outcome.js';
import type { EtrnRequest } from './etrn.js';
import { decideAuth, decideMail, decideRcpt, type Policy } from './policy.js';
import { receivedHeader } from './received.js';
import type { DirectDelivered, ListenerKind, SmtpdLog } from './types.js';

export interface ConnectionContext {
  readonly kind: ListenerKind;
  readonly policy: Policy;
  readonly native: NativeSmtpSettings;
  readonly queueRoot: string;
  readonly secureContext?: SecureContext;
  readonly relayClient: boolean;
  readonly timeoutMs: number;
  readonly authFailDelayMs: number;
  readonly sessionLimitMs: number;
  readonly onQueued?: (id: string) => void;
  readonly planDirect?: (address: string, sender: string) => DirectPlan | undefined;
  readonly onDelivered?: (d: DirectDelivered) => void;
  /** Answers ETRN (only asked when the session offers it). */
  readonly etrn?: (request: EtrnRequest) => Promise<SmtpReply>;
  readonly onClose: () => void;
  readonly log?: SmtpdLog;
  readonly now: () => Date;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

/** An accepted recipient and, when it is written at accept time, its plan. */
interface Rcpt {
  readonly address: string;
  readonly direct?: DirectPlan;
}

function nativeRecipient(r: Rcpt): SmtpRecipient {
  if (!r.direct) return { address: r.address };
  const { maildirs, rpline, dtline } = r.direct;
  return { address: r.address, direct: { maildirs: [...maildirs], prefix: Buffer.from(rpline + dtline), dtline: dtline.slice(0, -1) } };
}

export class SmtpConnection {
  #socket: Socket;
  readonly #ctx: ConnectionContext;
  readonly #session: SmtpSessionNative;
  readonly #ip: string;
  #user: string | undefined;
  #sender = '';
  #rcpts: Rcpt[] = [];
  #inBody = false;
  #busy = false;
  #draining = false;
  #blocked = false;
  #closed = false;
  #limit: NodeJS.Timeout | undefined;
  readonly #started = Date.now();
  #accepted = 0;

  constructor(socket: Socket, ctx: ConnectionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#ip = socket.remoteAddress ?? 'unknown';
    this.#session = new SmtpSessionNative(ctx.native, ctx.queueRoot);
  }

  start(): void {
    const s = this.#socket;
    s.setNoDelay(true);
    s.on('error', (err) => this.#ctx.log?.info({ ip: this.#ip, err: err.message }, 'smtp connection error'));
    s.once('close', () => this.#closedNow());
    this.#limit = setTimeout(() => this.#abandon('421 4.4.2 session time limit reached, closing\r\n'), this.#ctx.sessionLimitMs);
    this.#attach(s);
    s.write(this.#session.greeting());
  }

  /** Shutdown: closes now when idle, else after the message in progress. */
  drain(): void {
    this.#draining = true;
    if (!this.#busy && !this.#inBody) this.#abandon('421 4.3.2 service shutting down, closing\r\n');
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #attach(s: Socket): void {
    s.setTimeout(this.#ctx.timeoutMs, () => this.#abandon('421 4.4.2 timeout, closing connection\r\n'));
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  #abandon(line: string): void {
    if (this.#closed) return;
    this.#socket.end(line);
    setTimeout(() => this.#socket.destroy(), 2_000).unref();
  }

  #closedNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#limit);
    this.#session.dropBody();
    this.#ctx.onClose();
    const tls = this.#socket instanceof TLSSocket;
    const summary = { ip: this.#ip, kind: this.#ctx.kind, tls, user: this.#user, accepted: this.#accepted, ms: Date.now() - this.#started };
    this.#ctx.log?.info(summary, 'smtp session closed');
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    const step = this.#engine(() => this.#session.feed(chunk));
    if (!step) return;
    if (!step.decision) return this.#finish([step.replies], step);
    this.#busy = true;
    this.#socket.pause();
    void this.#resolve(step);
  }

  async #resolve(first: SmtpStep): Promise<void> {
    const out = [first.replies];
    let step = first;
    while (step.decision && !this.#closed) {
      const answer = await this.#decideSafely(step.decision);
      if (this.#closed) return;
      const next = this.#engine(() => this.#session.answer(answer));
      if (!next) return;
      step = next;
      out.push(step.replies);
    }
    this.#busy = false;
    this.#finish(out, step);
    if (!step.close && !step.starttls) this.#resumeReading();
  }

  /**
   * Runs a call into the native session. A throw there is a bug in the core (a panic turns
   * into a JS error): it ends this connection with 421 and a log line, never the process.
   */
  #engine(call: () => SmtpStep): SmtpStep | undefined {
    try {
      return call();
    } catch (err) {
      this.#ctx.log?.error({ ip: this.#ip, err: (err as Error).message }, 'smtp engine error');
      this.#abandon('421 4.3.0 local error, closing\r\n');
      return undefined;
    }
  }

  #resumeReading(): void {
    if (!this.#closed && !this.#busy && !this.#blocked) this.#socket.resume();
  }

  /** Writes replies; a full write buffer stops reading until the client drains it. */
  #write(bytes: Buffer): void {
    if (this.#socket.write(bytes) || this.#blocked) return;
    this.#blocked = true;
    this.#socket.pause();
    this.#socket.once('drain', () => {
      this.#blocked = false;
      this.#resumeReading();
    });
  }

  #finish(out: Buffer[], step: SmtpStep): void {
    if (this.#closed) return;
    const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
    if (step.close) {
      this.#socket.end(bytes);
      return;
    }
    if (bytes.length > 0) this.#write(bytes);
    if (step.starttls) return this.#upgrade();
    if (this.#draining && !this.#inBody) this.#abandon('421 4.3.2 service shutting down, closing\r\n');
  }

  async #decideSafely(d: SmtpDecision): Promise<SmtpReply> {
    try {
      return await this.#decide(d);
    } catch (err) {
      this.#ctx.log?.error({ ip: this.#ip, err: (err as Error).message, decision: d.kind }, 'smtp policy error');
      return reply(451, '4.3.0', 'local error, try again later');
    }
  }

  async #decide(d: SmtpDecision): Promise<SmtpReply> {
    const peer = { relayClient: this.#ctx.relayClient, user: this.#user, requireAuth: this.#ctx.kind !== 'smtp' };
    switch (d.kind) {
      case 'mail': {
        const r = decideMail(this.#ctx.policy, peer, d.address);
        if (r.code === 250) [this.#sender, this.#rcpts] = [d.address, []];
        return r;
      }
      case 'rcpt': {
        const r = await decideRcpt(this.#ctx.policy, peer, d.address);
        if (r.code === 250) this.#rcpts.push({ address: d.address, direct: this.#ctx.planDirect?.(d.address, this.#sender) });
        return r;
      }
      case 'auth': {
        const { reply: r, user } = await decideAuth(this.#ctx.policy, d.user, d.password);
        this.#user = user ?? this.#user;
        // A failed guess costs the guesser time (the session is paused meanwhile).
        if (r.code === 535) await new Promise((done) => setTimeout(done, this.#ctx.authFailDelayMs));
        return r;
      }
      case 'dataStart':
        return this.#openBody(d.bdat);
      case 'dataEnd':
        return this.#endBody(d.refusal);
      case 'etrn': {
        const request = { domain: d.domain, ip: this.#ip, relayClient: this.#ctx.relayClient, user: this.#user };
        return this.#ctx.etrn ? this.#ctx.etrn(request) : reply(502, '5.5.1', 'command not implemented');
      }
      default:
        return assertNever(d);
    }
  }

  #openBody(bdat: boolean): SmtpReply {
    const tls = this.#socket instanceof TLSSocket ? this.#socket : undefined;
    const cipher = tls?.getCipher();
    const prefix = receivedHeader({
      helo: this.#session.helo(),
      ip: this.#ip,
      hostname: this.#ctx.native.hostname,
      tls: tls && cipher ? { protocol: tls.getProtocol() ?? 'TLS', cipher: cipher.name } : undefined,
      user: this.#user,
      date: this.#ctx.now(),
    });
    this.#session.openBody(prefix);
    this.#inBody = true;
    return bdat ? reply(250, '2.0.0', 'go ahead') : reply(354, '', 'go ahead');
  }

  async #endBody(refusal: SmtpReply | undefined): Promise<SmtpReply> {
    this.#inBody = false;
    if (refusal) {
      this.#session.dropBody();
      return refusal;
    }
    const rcpts = this.#rcpts;
    this.#rcpts = [];
    const committed = await this.#session.commit(this.#sender, rcpts.map(nativeRecipient));
    const envelope = { sender: this.#sender, recipients: rcpts.length };
    if (committed.kind !== 'ok') {
      this.#ctx.log?.error({ ip: this.#ip, ...envelope, failure: describe(committed) }, 'smtp commit failed');
      return committed.kind === 'perm' ? reply(554, committed.status, committed.text) : reply(451, committed.status, `local error: ${committed.text}`);
    }
    this.#accepted++;
    const id = this.#settled(committed.value, rcpts);
    this.#ctx.log?.info({ ip: this.#ip, id, ...envelope, user: this.#user }, 'smtp message accepted');
    return reply(250, '2.0.0', `ok ${id}`);
  }

  /** Hands the commit's results on: the queued id to the scheduler, the direct deliveries
   *  to the logs and notices; returns the id the 250 names. */
  #settled(r: CommitReport, rcpts: readonly Rcpt[]): string {
    for (const f of r.fallback) {
      this.#ctx.log?.warn({ recipient: rcpts[f.index]!.address, status: f.status, reason: f.text }, `direct delivery to ${rcpts[f.index]!.address} failed, queued: ${f.text} (#${f.status})`);
    }
    if (r.queued) this.#ctx.onQueued?.(r.queued.id);
    const delivered = r.delivered.map((d) => ({ plan: rcpts[d.index]!.direct!, files: d.files }));
    if (delivered.length > 0) this.#ctx.onDelivered?.({ id: r.id, bytes: r.bytes, sender: this.#sender, delivered });
    return r.id !== '' ? r.id : r.queued?.id ?? '';
  }

  /** STARTTLS said: the rest of the plaintext is never read (the session discarded it). */
  #upgrade(): void {
    const plain = this.#socket;
    const context = this.#ctx.secureContext;
    if (!context) return this.#abandon('454 4.7.0 TLS not available\r\n');
    plain.removeAllListeners('data');
    plain.setTimeout(0);
    plain.pause();
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.#socket = secure;
    secure.on('error', () => plain.destroy());
    secure.setTimeout(this.#ctx.timeoutMs, () => secure.destroy());
    secure.once('secure', () => {
      this.#session.tlsStarted();
      this.#attach(secure);
    });
  }
}
