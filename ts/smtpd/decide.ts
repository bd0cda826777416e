// The policy side of the core's SMTP sessions: answers every ask that arrives over the
// decision channel (MAIL, RCPT, AUTH, ETRN, DATA content) with qmail-smtpd's rules
// (policy.ts) and delivery at accept time (deps.planDirect), and turns the channel's
// events into log lines, scheduler wake-ups and qmail-send's record of direct deliveries.
//
// Interface: new Decider(ctx); handle(item) for each item of a batch (server.ts pumps).
// State: per session only the direct plans of the current transaction (for the record
// after its 250), dropped at the next MAIL and when the session closes.
// Failures: a decision that throws -> 451 4.3.0 and 'smtp policy error' in the log; every
// ask is answered exactly once. Events never throw.

import type { DirectPlan } from '../local/direct.js';
import type { Log } from '../log/index.js';
import type { CommitReport, DirectTarget, SmtpAnswer, SmtpItem, SmtpReply } from '../native.js';
import type { Etrn } from './etrn.js';
import type { NetworkList } from './networks.js';
import { decideAuth, decideMail, decideRcpt, type Peer, type Policy } from './policy.js';
import type { EtrnRoute, SmtpdDeps } from './types.js';

/** What decisions follow; replaced whole on SIGHUP. */
export interface DecideRules {
  readonly policy: Policy;
  readonly relay: NetworkList;
  readonly authFailDelayMs: number;
  readonly etrnRoutes: readonly EtrnRoute[];
}

export interface DeciderContext {
  /** The rules of a generation (the one a session was admitted under: server.ts). */
  readonly rules: (generation: number) => DecideRules;
  readonly deps: SmtpdDeps;
  readonly etrn?: Etrn;
  readonly answer: (id: number, a: SmtpAnswer) => void;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

/** The core's target for a planned recipient: its maildirs and prefix lines. */
export function nativeTarget(plan: DirectPlan): DirectTarget {
  return { maildirs: [...plan.maildirs], prefix: Buffer.from(plan.rpline + plan.dtline), dtline: plan.dtline.slice(0, -1) };
}

export class Decider {
  readonly #ctx: DeciderContext;
  /** Session id -> recipient address -> its direct plan (this transaction). */
  readonly #plans = new Map<number, Map<string, DirectPlan>>();

  constructor(ctx: DeciderContext) {
    this.#ctx = ctx;
  }

  handle(item: SmtpItem): void {
    if (item.id === undefined) this.#event(item);
    else void this.#ask(item.id, item);
  }

  get #log(): Log | undefined {
    return this.#ctx.deps.log;
  }

  async #ask(id: number, item: SmtpItem): Promise<void> {
    let a: SmtpAnswer;
    try {
      a = await this.#decide(item);
    } catch (err) {
      this.#log?.error({ ip: item.ip, err: (err as Error).message, decision: item.type }, 'smtp policy error');
      a = reply(451, '4.3.0', 'local error, try again later');
    }
    this.#ctx.answer(id, a);
  }

  async #decide(item: SmtpItem): Promise<SmtpAnswer> {
    const r = this.#ctx.rules(item.generation);
    const peer: Peer = { relayClient: r.relay.has(item.ip), user: item.user ?? undefined, requireAuth: item.listener !== 'smtp' };
    switch (item.type) {
      case 'mail':
        this.#plans.delete(item.sid);
        return decideMail(r.policy, peer, item.address ?? '');
      case 'rcpt':
        return this.#rcpt(r, peer, item);
      case 'auth':
        return this.#auth(r, item);
      case 'etrn': {
        if (!this.#ctx.etrn) return reply(502, '5.5.1', 'command not implemented');
        return this.#ctx.etrn.decide({ domain: item.domain ?? '', ip: item.ip, relayClient: peer.relayClient, user: peer.user }, r.etrnRoutes);
      }
      case 'data':
        return reply(250, '2.0.0', 'ok');
      default:
        throw new Error(`unknown SMTP ask ${item.type}`);
    }
  }

  async #rcpt(r: DecideRules, peer: Peer, item: SmtpItem): Promise<SmtpAnswer> {
    const address = item.address ?? '';
    const answer = await decideRcpt(r.policy, peer, address);
    if (answer.code !== 250) return answer;
    const plan = this.#ctx.deps.planDirect?.(address, item.sender ?? '');
    if (!plan) return answer;
    let plans = this.#plans.get(item.sid);
    if (!plans) this.#plans.set(item.sid, (plans = new Map()));
    plans.set(address, plan);
    return { ...answer, direct: nativeTarget(plan) };
  }

  async #auth(r: DecideRules, item: SmtpItem): Promise<SmtpAnswer> {
    const { reply: answer, user } = await decideAuth(r.policy, item.login ?? '', item.password ?? '');
    // A failed guess costs the guesser time (the session waits for this answer).
    if (answer.code === 535) await new Promise((done) => setTimeout(done, r.authFailDelayMs));
    return { ...answer, ...(user !== undefined ? { user } : {}) };
  }

  #event(item: SmtpItem): void {
    const log = this.#log;
    switch (item.type) {
      case 'accepted':
        return this.#accepted(item, item.report!);
      case 'failed':
        return log?.error({ ip: item.ip, sender: item.sender, recipients: item.size, failure: `${item.status} ${item.text}` }, 'smtp commit failed');
      case 'closed':
        this.#plans.delete(item.sid);
        return log?.info({
          ip: item.ip, kind: item.listener, tls: item.tls !== undefined, user: item.user, accepted: item.accepted, ms: item.millis,
          replies: Object.fromEntries((item.replies ?? []).map(([code, n]) => [String(code), n])),
        }, 'smtp session closed');
      case 'error':
        return log?.error({ ip: item.ip, err: item.text }, 'smtp engine error');
      default:
        return log?.error({ type: item.type }, 'smtp: unknown event');
    }
  }

  /** A 250 was sent: wake the scheduler, record the direct deliveries, log. */
  #accepted(item: SmtpItem, report: CommitReport): void {
    const deps = this.#ctx.deps;
    const recipients = item.recipients ?? [];
    const sender = item.sender ?? '';
    for (const f of report.fallback) {
      const to = recipients[f.index];
      this.#log?.warn({ recipient: to, status: f.status, reason: f.text }, `direct delivery to ${to} failed, queued: ${f.text} (#${f.status})`);
    }
    if (report.queued) deps.onQueued?.(report.queued.id);
    const plans = this.#plans.get(item.sid);
    this.#plans.delete(item.sid);
    const delivered = report.delivered.flatMap((d) => {
      const plan = plans?.get(recipients[d.index] ?? '');
      return plan ? [{ plan, files: d.files }] : [];
    });
    if (delivered.length > 0) deps.onDelivered?.({ id: report.id, bytes: report.bytes, sender, delivered });
    const id = report.id !== '' ? report.id : report.queued?.id;
    this.#log?.info({ ip: item.ip, id, sender, recipients: recipients.length, user: item.user }, 'smtp message accepted');
  }
}
