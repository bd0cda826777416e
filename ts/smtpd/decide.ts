// The policy side of the core's SMTP sessions: answers every ask that arrives over the
// decision channel and turns the channel's events into log lines, scheduler wake-ups and
// qmail-send's record of direct deliveries (events.ts).
//
// Interface: new Decider(ctx); handle(item) for each item of a batch (server.ts pumps).
// Order at each point: qmta's own checks first and final (the core's at MAIL: submission
// AUTH and badmailfrom, crates/smtp-server mail.rs; policy.ts: relay control; the SPF check
// of a stranger's MAIL FROM; at the end of DATA the checks of content.ts), then the
// application's hooks (ts/hooks: the first handler that
// accepts, refuses or defers decides), then qmta's default (users/passwd at AUTH, the
// recipient check at RCPT). A local recipient accepted at RCPT is planned for delivery at
// accept time (deps.planDirect) unless the application's store takes it.
// State: per session only what its current transaction needs (the direct plans, the SPF
// verdict), dropped at the next transaction and when the session closes. The core answers
// a trusted sender's MAIL itself, so a transaction is known by its number (item.transaction),
// not by a MAIL ask. A plan that no hook and nothing about the session decided goes to the
// core with its guards (the files it was read from): the core answers that recipient from
// that sender again itself while they stat the same (crates/smtp-server rcpt_cache.rs), and
// the last KEPT such plans stay here for the deliveries the core reports without an ask.
// Failures: a decision that throws -> 451 4.3.0 and 'smtp policy error' in the log; every
// ask is answered exactly once.

import type { HookSession } from '../hooks/index.js';
import type { SpfVerdict } from '../inbound/mail-from.js';
import type { CheckContext } from '../inbound/settings.js';
import type { DirectPlan } from '../local/direct.js';
import type { Log } from '../log/index.js';
import { isSmtpAsk, type DirectTarget, type MessageContent, type SmtpAnswer, type SmtpAsk, type SmtpItem, type SmtpReply } from '../native.js';
import { decideData, wantsContent } from './content.js';
import type { Etrn } from './etrn.js';
import { handleEvent } from './events.js';
import { decideAuth, RCPT_OK, relayRcpt, validateRcpt, type Peer, type Policy } from './policy.js';
import type { EtrnRoute, SmtpdDeps } from './types.js';

/** What decisions follow; replaced whole on SIGHUP. */
export interface DecideRules {
  readonly policy: Policy;
  readonly authFailDelayMs: number;
  readonly etrnRoutes: readonly EtrnRoute[];
}

export interface DeciderContext {
  /** The rules of a generation (the one a session was admitted under: server.ts). */
  readonly rules: (generation: number) => DecideRules;
  readonly deps: SmtpdDeps;
  readonly etrn?: Etrn;
  readonly answer: (id: number, a: SmtpAnswer) => void;
  /** The message of a data ask (taken once). */
  readonly content: (id: number) => MessageContent | undefined;
}

/** What a session's current transaction carries from one decision to the next. */
export interface Transaction {
  /** The session's transaction number (SmtpItem.transaction). */
  readonly number: number;
  readonly plans: Map<string, DirectPlan>;
  spf?: SpfVerdict;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

/** The core's target for a planned recipient: its maildirs and prefix lines, and the guards
 *  under which the core may give the same answer again (none: ask every time). */
export function nativeTarget(plan: DirectPlan, reusable: boolean): DirectTarget {
  const guards = reusable ? plan.guards ?? [] : [];
  return { maildirs: [...plan.maildirs], prefix: Buffer.from(plan.rpline + plan.dtline), dtline: plan.dtline.slice(0, -1), guards: [...guards] };
}

/** Twice the answers the core keeps (crates/smtp-server rcpt_cache.rs CAPACITY): every
 *  answer it still holds has its plan here, even when answers reach it in another order. */
const KEPT = 2 * 4096;

/** The session as the application's hooks see it. */
export function hookSession(item: SmtpAsk, relayClient: boolean, envelope: HookSession['envelope']): HookSession {
  return {
    id: String(item.sid), remoteAddress: item.ip, remotePort: item.port, localAddress: item.localIp, localPort: item.localPort,
    listener: item.listener as HookSession['listener'], secure: item.tls !== undefined, relayClient,
    ...(item.helo ? { helo: item.helo } : {}), ...(item.user ? { user: item.user } : {}), envelope,
  };
}

export class Decider {
  readonly #ctx: DeciderContext;
  /** Session id -> its transaction in progress. */
  readonly #tx = new Map<number, Transaction>();
  /** sender LF recipient -> the last plan the core may reuse, oldest first. */
  readonly #kept = new Map<string, DirectPlan>();

  constructor(ctx: DeciderContext) {
    this.#ctx = ctx;
  }

  handle(item: SmtpItem): void {
    if (isSmtpAsk(item)) void this.#ask(item);
    else handleEvent(item, this.#ctx.deps, this.#tx, (sender, address) => this.#kept.get(`${sender}\n${address}`));
  }

  get #log(): Log | undefined {
    return this.#ctx.deps.log;
  }

  async #ask(item: SmtpAsk): Promise<void> {
    let a: SmtpAnswer;
    try {
      a = await this.#decide(item);
    } catch (err) {
      this.#log?.error({ ip: item.ip, err: (err as Error).message, decision: item.type }, 'smtp policy error');
      a = reply(451, '4.3.0', 'local error, try again later');
    }
    this.#ctx.answer(item.id, a);
  }

  async #decide(item: SmtpAsk): Promise<SmtpAnswer> {
    const r = this.#ctx.rules(item.generation);
    const peer: Peer = { relayClient: item.relayClient, user: item.user ?? undefined };
    const hooks = this.#ctx.deps.hooks;
    const session = (envelope: HookSession['envelope'] = { rcptTo: [] }) => hookSession(item, peer.relayClient, envelope);
    switch (item.type) {
      case 'connect':
        return hookAnswer(await hooks?.connect(session()), reply(220, '', 'go ahead'));
      case 'helo':
        return hookAnswer(await hooks?.helo(session(), { name: item.name ?? '', ehlo: item.ehlo === true }), reply(250, '2.0.0', 'hello'));
      case 'mail':
        return this.#mail(peer, item, session);
      case 'rcpt':
        return this.#rcpt(r, peer, item, session({ mailFrom: item.sender ?? '', rcptTo: item.recipients ?? [] }));
      case 'auth':
        return this.#auth(r, item, session());
      case 'etrn': {
        if (!this.#ctx.etrn) return reply(502, '5.5.1', 'command not implemented');
        return this.#ctx.etrn.decide({ domain: item.domain ?? '', ip: item.ip, relayClient: peer.relayClient, user: peer.user }, r.etrnRoutes);
      }
      case 'data':
        return this.#data(peer, item, session({ mailFrom: item.sender ?? '', rcptTo: item.recipients ?? [] }));
      default:
        throw new Error(`unknown SMTP ask ${item.type}`);
    }
  }

  #check(peer: Peer, item: SmtpAsk, sender: string): CheckContext {
    return { ip: item.ip, helo: item.helo ?? '', sender, relayClient: peer.relayClient, user: peer.user };
  }

  /** A MAIL that passed the core's own checks: a stranger's (SPF), or any when a hook wants it. */
  async #mail(peer: Peer, item: SmtpAsk, session: () => HookSession): Promise<SmtpAnswer> {
    const tx = this.#transaction(item);
    const address = item.address ?? '';
    const check = this.#check(peer, item, address);
    const spf = await this.#ctx.deps.checkMail?.(check);
    if (spf?.reply) return spf.reply;
    tx.spf = spf?.spf;
    const hooked = await this.#ctx.deps.hooks?.mail(session(), { address, params: mailParams(item) });
    if (hooked?.kind === 'reply') return hooked.reply;
    const stranger = !peer.relayClient && peer.user === undefined;
    return { ...reply(250, '2.1.0', 'sender ok'), content: wantsContent(this.#ctx.deps, stranger) };
  }

  /** The session's transaction of `item`, started afresh when the core began a new one. */
  #transaction(item: SmtpAsk): Transaction {
    const now = this.#tx.get(item.sid);
    if (now?.number === item.transaction) return now;
    const tx: Transaction = { number: item.transaction, plans: new Map() };
    this.#tx.set(item.sid, tx);
    return tx;
  }

  async #rcpt(r: DecideRules, peer: Peer, item: SmtpAsk, session: HookSession): Promise<SmtpAnswer> {
    const address = item.address ?? '';
    const relay = relayRcpt(r.policy, peer, address);
    if (relay !== 'ours' && relay !== 'relay') return relay;
    const hooked = await this.#ctx.deps.hooks?.rcpt(session, { address, params: {} });
    if (hooked?.kind === 'reply') return hooked.reply;
    // A recipient planned for delivery at accept time has a mailbox: no separate check.
    const plan = hooked?.store !== true ? this.#ctx.deps.planDirect?.(address, item.sender ?? '') : undefined;
    const answer = plan || hooked?.kind === 'accept' || relay === 'relay' ? RCPT_OK : await validateRcpt(r.policy, address);
    if (!plan) return answer;
    this.#transaction(item).plans.set(address, plan);
    // Only qmta's own rules decided this answer: the same recipient and sender get it again.
    const reusable = relay === 'ours' && this.#ctx.deps.hooks?.has('rcpt') !== true && plan.guards !== undefined;
    if (reusable) this.#keep(`${item.sender ?? ''}\n${address}`, plan);
    return { ...answer, direct: nativeTarget(plan, reusable) };
  }

  #keep(key: string, plan: DirectPlan): void {
    this.#kept.delete(key);
    this.#kept.set(key, plan);
    if (this.#kept.size > KEPT) this.#kept.delete(this.#kept.keys().next().value!);
  }

  async #auth(r: DecideRules, item: SmtpAsk, session: HookSession): Promise<SmtpAnswer> {
    const login = item.login ?? '';
    const hooked = await this.#ctx.deps.hooks?.auth(session, { method: item.mechanism === 'PLAIN' ? 'PLAIN' : 'LOGIN', username: login, password: item.password ?? '' });
    const { reply: answer, user } = hooked?.kind === 'accept'
      ? { reply: reply(235, '2.7.0', 'authentication successful'), user: hooked.user ?? login }
      : hooked?.kind === 'reply' ? { reply: hooked.reply, user: undefined } : await decideAuth(r.policy, login, item.password ?? '');
    // A failed guess costs the guesser time (the session waits for this answer).
    if (answer.code === 535) await new Promise((done) => setTimeout(done, r.authFailDelayMs));
    return { ...answer, ...(user !== undefined ? { user } : {}) };
  }

  async #data(peer: Peer, item: SmtpAsk, session: HookSession): Promise<SmtpAnswer> {
    const content = this.#ctx.content(item.id);
    if (!content) throw new Error('the message of a data ask is missing');
    const check = { ...this.#check(peer, item, item.sender ?? ''), spf: this.#transaction(item).spf };
    const stranger = !peer.relayClient && peer.user === undefined;
    return decideData(this.#ctx.deps, { content, stranger, check, session, recipients: item.recipients ?? [] });
  }
}

/** A hook's decision at connect or EHLO: its reply, else qmta's positive one. */
function hookAnswer(d: { kind: string; reply?: SmtpReply } | undefined, positive: SmtpReply): SmtpReply {
  return d?.kind === 'reply' && d.reply ? d.reply : positive;
}

/** MAIL FROM's ESMTP parameters as the hooks see them. */
function mailParams(item: SmtpAsk): Record<string, string> {
  return {
    ...(item.size !== undefined ? { SIZE: String(item.size) } : {}),
    ...(item.body ? { BODY: item.body } : {}),
    ...(item.smtputf8 ? { SMTPUTF8: '' } : {}),
  };
}
