// Checking what a hook handler answered and turning it into an SMTP reply: each decision
// point's default codes and texts, and the rules an answer must keep.
//
// Interface: checkVerdict(point, value) -> Checked: none (no opinion), accept (with the
// AUTH user), reply (a refusal or deferral), or malformed (why); failureReply(point), the
// reply for a handler that failed; checkHooks(hooks), the option's shape (TypeError).
// Rules: refuse is 500-599 with a 5.x.x status, defer 400-499 with 4.x.x (421 only at
// connect: RFC 5321 closes the connection after it); the status's class agrees with the
// code's; text is one line of 1-400 characters of RFC 5321's textstring (TAB, printable
// ASCII: no CR, LF or NUL can split a reply); an AUTH user is 1-255 printable ASCII
// characters without spaces. Anything else (a string, true, an unknown action) is malformed.
// A failure is 451 4.3.0, at connect 421 4.3.0 (a greeting may only be 220, 421 or 554).

import type { HookPoint, SmtpHooks } from './types.js';

/** An SMTP reply: code, RFC 3463 status, text (what the session writes). */
export interface HookReply {
  readonly code: number;
  readonly status: string;
  readonly text: string;
}

export type Checked =
  | { readonly kind: 'none' }
  | { readonly kind: 'accept'; readonly user?: string }
  | { readonly kind: 'reply'; readonly reply: HookReply }
  | { readonly kind: 'malformed'; readonly why: string };

const r = (code: number, status: string, text: string): HookReply => ({ code, status, text });

/** Each point's replies when a handler gives no code, status or text. */
const DEFAULTS: Record<HookPoint, { readonly refuse: HookReply; readonly defer: HookReply }> = {
  connect: { refuse: r(554, '5.7.1', 'connection refused'), defer: r(421, '4.7.0', 'try again later') },
  helo: { refuse: r(550, '5.7.1', 'HELO refused'), defer: r(451, '4.7.1', 'HELO deferred, try again later') },
  auth: { refuse: r(535, '5.7.8', 'authentication failed'), defer: r(454, '4.7.0', 'temporary authentication failure') },
  mail: { refuse: r(550, '5.7.1', 'sender refused'), defer: r(451, '4.7.1', 'sender deferred, try again later') },
  rcpt: { refuse: r(550, '5.1.1', 'no mailbox here by that name'), defer: r(451, '4.7.1', 'recipient deferred, try again later') },
  data: { refuse: r(554, '5.7.1', 'message refused'), defer: r(451, '4.7.1', 'message deferred, try again later') },
};

export const HOOK_POINTS = Object.keys(DEFAULTS) as HookPoint[];

const STATUS = /^[45]\.\d{1,3}\.\d{1,3}$/;
const TEXT = /^[\t\x20-\x7e]{1,400}$/;
const USER = /^[\x21-\x7e]{1,255}$/;

/** The reply for a handler that threw, timed out or answered something malformed. */
export function failureReply(point: HookPoint): HookReply {
  return point === 'connect' ? r(421, '4.3.0', 'local error, try again later') : r(451, '4.3.0', 'local error, try again later');
}

/** Checks one handler's answer (see the header). */
export function checkVerdict(point: HookPoint, v: unknown): Checked {
  if (v === undefined || v === null) return { kind: 'none' };
  if (typeof v !== 'object') return malformed(`a ${typeof v} instead of an object or nothing`);
  const action = (v as { action?: unknown }).action;
  if (action === 'accept') return checkAccept(point, v as { user?: unknown });
  if (action !== 'refuse' && action !== 'defer') return malformed(`action ${show(action)}`);
  return checkReply(point, action, v as { code?: unknown; status?: unknown; text?: unknown });
}

function checkAccept(point: HookPoint, v: { user?: unknown }): Checked {
  if (point !== 'auth' || v.user === undefined) return { kind: 'accept' };
  if (typeof v.user !== 'string' || !USER.test(v.user)) return malformed(`user ${show(v.user)}`);
  return { kind: 'accept', user: v.user };
}

function checkReply(point: HookPoint, action: 'refuse' | 'defer', v: { code?: unknown; status?: unknown; text?: unknown }): Checked {
  const base = DEFAULTS[point][action];
  const code = v.code ?? base.code;
  const low = action === 'refuse' ? 500 : 400;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < low || code > low + 99) return malformed(`code ${show(code)} for ${action}`);
  if (code === 421 && point !== 'connect') return malformed('code 421 outside connect (it closes the connection)');
  const status = v.status ?? base.status;
  if (typeof status !== 'string' || !STATUS.test(status) || status[0] !== String(code)[0]) return malformed(`status ${show(status)} for code ${code}`);
  const text = v.text ?? base.text;
  if (typeof text !== 'string' || !TEXT.test(text)) return malformed('a text that is not one line of 1-400 printable ASCII characters');
  return { kind: 'reply', reply: r(code, status, text) };
}

function malformed(why: string): Checked {
  return { kind: 'malformed', why };
}

function show(x: unknown): string {
  const s = typeof x === 'string' ? JSON.stringify(x) : String(x);
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** Throws a TypeError naming what is wrong with a `hooks` option. */
export function checkHooks(hooks: SmtpHooks): void {
  if (typeof hooks !== 'object' || hooks === null) throw new TypeError('hooks must be an object');
  for (const [key, value] of Object.entries(hooks)) {
    if (value === undefined) continue;
    if (key === 'timeoutMs') {
      if (!(Number.isInteger(value) && (value as number) > 0 && (value as number) <= 2 ** 31 - 1)) throw new TypeError('hooks.timeoutMs must be a positive integer (ms)');
      continue;
    }
    if (!(HOOK_POINTS as string[]).includes(key)) throw new TypeError(`hooks.${key} is not a hook point (${HOOK_POINTS.join(', ')})`);
    const list: unknown[] = Array.isArray(value) ? value : [value];
    if (!list.every((h) => typeof h === 'function')) throw new TypeError(`hooks.${key} must be a function or an array of functions`);
  }
}
