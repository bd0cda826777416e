// The SMTP hooks at work: runs the application's handlers of one decision point in order,
// each bounded in time, and turns their answers into a decision for the SMTP session.
//
// Interface: createHookRunner({ hooks, log, claimedByStore? }) -> HookRunner with has(point)
// and one method per point: connect(session), helo(session, helo), auth(session, auth),
// mail(session, from), rcpt(session, to) -> RcptDecision, data(session, { size, open }).
// Each resolves with a HookDecision and never rejects:
//   default  no handler decided: the session applies qmta's default (accept; AUTH:
//            users/passwd or checkpassword; RCPT: users/assign, control/rcptcheck);
//   accept   a handler accepted (at AUTH with the user: the one it named, else the username);
//   reply    a refusal, a deferral or a failed handler: the session sends it; close is true
//            at connect (the session ends after the reply).
// Order: qmta's own checks come first in the session and cannot be overridden; then the
// handlers in registration order; the first that accepts, refuses or defers decides and
// the rest are not called; a handler's "nothing" passes to the next. At RCPT, when no
// handler decided, a recipient the application's store claims (ts/local/store.ts) is
// accepted: it is known. RcptDecision.store says the recipient goes to the store, so it
// must go through the queue (never a direct maildir write at accept time).
// Failures: a handler that throws, rejects, runs past the time limit (its signal is then
// aborted) or answers something malformed (verdict.ts) -> failureReply: 451 4.3.0, 421 4.3.0
// at connect; one warning record {event: 'hook', point, handler, session, reason}; the
// chain stops there, so a failing handler never lets anything through. The store's
// recipients() throwing -> 451 4.3.0 the same way.
// Guarantees: the session object a handler sees is a frozen copy; a data handler's message
// stream is opened only if read and destroyed when its call ends or times out.

import type { Readable } from 'node:stream';
import type { Log } from '../log/index.js';
import type { Outcome } from '../outcome.js';
import type {
  AuthInput, AddressInput, DataInput, HeloInput, HookContext, HookPoint, HookSession, SmtpHooks,
} from './types.js';
import { checkVerdict, failureReply, HOOK_POINTS, type Checked, type HookReply } from './verdict.js';

/** Time limit of one handler call when hooks.timeoutMs is not given. */
export const HOOK_TIMEOUT_MS = 30_000;

/** What the session does after the handlers of one decision point (see the header). */
export type HookDecision =
  | { readonly kind: 'default' }
  | { readonly kind: 'accept'; readonly user?: string }
  | { readonly kind: 'reply'; readonly reply: HookReply; readonly close: boolean };

/** A RCPT decision, and whether the recipient goes to the application's store. */
export type RcptDecision = HookDecision & { readonly store: boolean };

/** The message at the end of DATA as the session gives it: `open` makes a new stream each call. */
export interface DataSource {
  readonly size: number;
  open(): Readable;
}

export interface HookRunner {
  /** True when a handler is registered at `point` (connect and helo are asked of TypeScript only then). */
  has(point: HookPoint): boolean;
  connect(session: HookSession): Promise<HookDecision>;
  helo(session: HookSession, helo: HeloInput): Promise<HookDecision>;
  auth(session: HookSession, auth: AuthInput): Promise<HookDecision>;
  mail(session: HookSession, from: AddressInput): Promise<HookDecision>;
  rcpt(session: HookSession, to: AddressInput): Promise<RcptDecision>;
  data(session: HookSession, message: DataSource): Promise<HookDecision>;
}

export interface HookRunnerOptions {
  readonly hooks?: SmtpHooks;
  readonly log: Log;
  /** Whether the application's store takes a recipient (Engine.claimedByStore). */
  readonly claimedByStore?: (address: string) => Outcome<boolean>;
}

type Handler = (...args: never[]) => unknown;
/** Calls one handler with the decision's input; `onOver` registers what to release when the call ends. */
type Invoke = (handler: Handler, session: HookSession, ctx: HookContext, onOver: (f: () => void) => void) => unknown;

/** The runner over `opts.hooks` (see the header). */
export function createHookRunner(opts: HookRunnerOptions): HookRunner {
  const hooks = opts.hooks ?? {};
  const limit = hooks.timeoutMs ?? HOOK_TIMEOUT_MS;
  const lists = Object.fromEntries(HOOK_POINTS.map((p) => [p, toList(hooks[p])])) as Record<HookPoint, Handler[]>;
  const run = (point: HookPoint, session: HookSession, invoke: Invoke): Promise<HookDecision> =>
    runChain({ point, handlers: lists[point], session, invoke, limit, log: opts.log });
  const call = (...input: unknown[]): Invoke => (h, s, ctx) => (h as (...a: unknown[]) => unknown)(...input, s, ctx);
  return {
    has: (point) => lists[point].length > 0,
    connect: (s) => run('connect', s, call()),
    helo: (s, helo) => run('helo', s, call(helo)),
    auth: async (s, auth) => {
      const d = await run('auth', s, call(auth));
      return d.kind === 'accept' ? { kind: 'accept', user: d.user ?? auth.username } : d;
    },
    mail: (s, from) => run('mail', s, call(from)),
    rcpt: async (s, to) => withStore(await run('rcpt', s, call(to)), s, to.address, opts),
    data: (s, m) => run('data', s, (h, snap, ctx, onOver) => {
      let stream: Readable | undefined;
      const input: DataInput = { size: m.size, get stream() { return (stream ??= m.open()); } };
      onOver(() => stream?.destroy());
      return (h as (...a: unknown[]) => unknown)(input, snap, ctx);
    }),
  };
}

function toList(h: Handler | readonly Handler[] | undefined): Handler[] {
  if (h === undefined) return [];
  return Array.isArray(h) ? [...h] : [h as Handler];
}

/** Adds the store's claim to a RCPT decision (see the header). */
function withStore(d: HookDecision, session: HookSession, address: string, opts: HookRunnerOptions): RcptDecision {
  if (d.kind === 'reply') return { ...d, store: false };
  const claim = opts.claimedByStore?.(address);
  if (claim === undefined) return { ...d, store: false };
  if (claim.kind !== 'ok') {
    const reply = failureReply('rcpt');
    warn(opts.log, 'rcpt', -1, session, `store.recipients: ${claim.text}`, reply);
    return { kind: 'reply', reply, close: false, store: false };
  }
  if (d.kind === 'default' && claim.value) return { kind: 'accept', store: true };
  return { ...d, store: claim.value };
}

interface Chain {
  readonly point: HookPoint;
  readonly handlers: readonly Handler[];
  readonly session: HookSession;
  readonly invoke: Invoke;
  readonly limit: number;
  readonly log: Log;
}

/** The handlers of one point in order, until one decides or fails. */
async function runChain(c: Chain): Promise<HookDecision> {
  if (c.handlers.length === 0) return { kind: 'default' };
  const snap = freeze(c.session);
  for (const [i, handler] of c.handlers.entries()) {
    let over: (() => void) | undefined;
    const answer = await bounded((ctx) => c.invoke(handler, snap, ctx, (f) => (over = f)), c.limit, () => over?.());
    const checked = answer.ok ? safeCheck(c.point, answer.value) : { kind: 'malformed' as const, why: answer.reason };
    switch (checked.kind) {
      case 'none':
        continue;
      case 'accept':
        return checked.user === undefined ? { kind: 'accept' } : { kind: 'accept', user: checked.user };
      case 'reply':
        return { kind: 'reply', reply: checked.reply, close: c.point === 'connect' };
      case 'malformed': {
        const reply = failureReply(c.point);
        warn(c.log, c.point, i, c.session, answer.ok ? `malformed answer: ${checked.why}` : checked.why, reply);
        return { kind: 'reply', reply, close: c.point === 'connect' };
      }
    }
  }
  return { kind: 'default' };
}

type Answer = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/** Runs one call with a time limit; a throw, a rejection or the limit is a failed answer. The
 *  call's signal (made only if the handler asks for it) is aborted at the limit; `over`
 *  runs when the call is given up or has settled (a data handler's stream closes). */
async function bounded(call: (ctx: HookContext) => unknown, limit: number, over?: () => void): Promise<Answer> {
  const reason = `no answer within ${limit} ms`;
  let abort: AbortController | undefined;
  let expired = false;
  const ctx: HookContext = {
    get signal() {
      abort ??= new AbortController();
      if (expired && !abort.signal.aborted) abort.abort(new Error(reason));
      return abort.signal;
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      expired = true;
      abort?.abort(new Error(reason));
      resolve({ ok: false, reason });
    }, limit);
  });
  try {
    const value = Promise.resolve(call(ctx)).then((v): Answer => ({ ok: true, value: v }));
    return await Promise.race([value.catch((err: unknown): Answer => ({ ok: false, reason: `threw: ${oneLine(err)}` })), late]);
  } catch (err) {
    return { ok: false, reason: `threw: ${oneLine(err)}` };
  } finally {
    clearTimeout(timer);
    over?.();
  }
}

/** checkVerdict, where reading the answer itself may throw (a getter, a Proxy). */
function safeCheck(point: HookPoint, value: unknown): Checked {
  try {
    return checkVerdict(point, value);
  } catch (err) {
    return { kind: 'malformed', why: `reading it threw: ${oneLine(err)}` };
  }
}

function freeze(s: HookSession): HookSession {
  const envelope = Object.freeze({ ...s.envelope, rcptTo: Object.freeze([...s.envelope.rcptTo]) });
  return Object.freeze({ ...s, envelope });
}

function warn(log: Log, point: HookPoint, handler: number, session: HookSession, reason: string, reply: HookReply): void {
  const which = handler < 0 ? point : `${point}[${handler}]`;
  log.warn({ event: 'hook', point, handler, session: session.id, reason },
    `hook ${which} failed: ${reason}; answered ${reply.code} ${reply.status}`);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.replace(/[\r\n]+/g, ' ').slice(0, 300);
}
