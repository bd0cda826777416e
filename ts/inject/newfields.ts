// The fields qmail-inject adds: Date, Message-ID, the default From, and the default envelope
// sender (as a Return-Path field run through the same rewriting as a real one).
//
// Interface: dateField, messageIdField, defaultFrom, defaultSender.
// Formats (qmail's newfield.c): "Date: 26 Sep 1995 04:46:53 -0000" (UTC, no weekday, day not
// padded); "Message-ID: <19950926044653.<tag>.qmail@<idhost>>" where tag is the pid for a
// process per message, "<pid>.<n>" inside a long-running process so that ids stay unique.
// Failures: a default From or sender that does not parse (odd MAILHOST, QMAILUSER...) -> perm
// 5.3.5, as qmail's "unable to parse this line" (exit 100).

import { ok, perm, type Outcome } from '../outcome.js';
import { rewriteAddressList, type AddressRewrite } from './addrlist.js';
import type { Identity } from './identity.js';
import { needsQuote } from './quote.js';
import { special, tokenize, unparse, type Token } from './token822.js';

/** Lines are folded at this width, as qmail's LINELEN. */
export const LINE_LENGTH = 80;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "Date: 26 Sep 1995 04:46:53 -0000\n" for nowMs (UTC). */
export function dateField(nowMs: number): string {
  const d = new Date(nowMs);
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return `Date: ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${time} -0000\n`;
}

/** "Message-ID: <YYYYMMDDHHMMSS.tag.qmail@idhost>\n" for nowMs (UTC). */
export function messageIdField(nowMs: number, tag: string, idhost: string): string {
  const d = new Date(nowMs);
  const stamp = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
  return `Message-ID: <${stamp}.${tag}.qmail@${idhost}>\n`;
}

/** Prints a built field, parses it back and rewrites its addresses, as qmail does with its defaults. */
function reparse(tokens: readonly Token[], rewrite: AddressRewrite): Outcome<string> {
  const text = unparse(tokens, LINE_LENGTH);
  const back = tokenize(text);
  const rewritten = back && rewriteAddressList(back, rewrite);
  if (!rewritten) return perm('5.3.5', `unable to parse this line: ${text.trimEnd()}`);
  return ok(unparse(rewritten, LINE_LENGTH));
}

/** The From field made from the identity (with "\n"). */
export function defaultFrom(id: Identity, rewrite: AddressRewrite): Outcome<string> {
  const t: Token[] = [{ type: 'atom', text: 'From' }, special('colon')];
  const angle = id.name !== undefined && !id.flags.nameComment;
  if (angle) t.push({ type: 'quote', text: id.name as string }, special('left'));
  t.push({ type: needsQuote(id.user) ? 'quote' : 'atom', text: id.user });
  if (id.host !== undefined) t.push(special('at'), { type: 'atom', text: id.host });
  if (angle) t.push(special('right'));
  if (id.name !== undefined && id.flags.nameComment) t.push({ type: 'comment', text: id.name });
  return reparse(t, rewrite);
}

/**
 * Rewrites the default envelope sender as a Return-Path field; the rewrite callback records it.
 * The user gets "-<unix time>.<pid>" for per-message VERP (m) and a trailing "-" for
 * per-recipient VERP (r), whose "-@[]" the callback adds.
 */
export function defaultSender(id: Identity, nowMs: number, pid: number, rewrite: AddressRewrite): Outcome<void> {
  let user = id.senderUser;
  if (id.flags.verpMessage) user += `-${Math.floor(nowMs / 1000)}.${pid}`;
  if (id.flags.verpRecipient) user += '-';
  const t: Token[] = [{ type: 'atom', text: 'Return-Path' }, special('colon'), { type: 'quote', text: user }];
  if (id.senderHost !== undefined) t.push(special('at'), { type: 'atom', text: id.senderHost });
  const r = reparse(t, rewrite);
  return r.kind === 'ok' ? ok(undefined) : r;
}
