// Address completion, qmail-inject's rewriting of every address it handles (header fields,
// -f, command-line recipients): drop a source route, a trailing "." or "@"; no "@" -> append
// "@defaulthost"; a host ending in "+" -> "+" becomes ".plusdomain"; a host with no dot and not
// a [literal] -> append ".defaultdomain" (which also applies to a dotless defaulthost).
// Departure from qmail: a dotless host that is "localhost" or listed in control/locals is
// never qualified, so that on a host whose name has no dot, "joe@localhost" and "joe" (which
// becomes "joe@<defaulthost>") stay local instead of becoming "joe@localhost.<defaultdomain>"
// and going remote. Real (dotless, non-local) host names are qualified as qmail does.
//
// Interface: parseCompletion(settings) -> Outcome<Completion>; completeAddress(tokens, c).
// Failures: a defaulthost/defaultdomain/plusdomain that does not lex -> perm 5.3.5 (qmail: exit
// 100 "unable to parse this line").
// Guarantees: "<>" and "foo@[]" are never rewritten; tokens are in reading order (see addrlist.ts).

import { ok, perm, type Outcome } from '../outcome.js';
import { tokenize, type Token } from './token822.js';

export interface CompletionSettings {
  readonly defaulthost: string;
  readonly defaultdomain: string;
  readonly plusdomain: string;
  /** control/locals: names never qualified (lowercase). */
  readonly locals: readonly string[];
}

/** The completion suffixes, pre-tokenized. */
export interface Completion {
  readonly atHost: readonly Token[];
  readonly dotDomain: readonly Token[];
  readonly dotPlus: readonly Token[];
  /** Lowercase dotless host names left as they are: localhost and the locals. */
  readonly unqualified: ReadonlySet<string>;
}

/** Tokenizes the three suffixes once. */
export function parseCompletion(s: CompletionSettings): Outcome<Completion> {
  const atHost = tokenize('@' + s.defaulthost);
  const dotDomain = tokenize('.' + s.defaultdomain);
  const dotPlus = tokenize('.' + s.plusdomain);
  if (!atHost || !dotDomain || !dotPlus) {
    return perm('5.3.5', 'unable to parse defaulthost, defaultdomain or plusdomain');
  }
  const unqualified = new Set(['localhost', ...s.locals.map((l) => l.toLowerCase())]);
  return ok({ atHost, dotDomain, dotPlus, unqualified });
}

/** Drops "@a,@b:" in front of the address; a route with no ":" leaves nothing. */
function dropRoute(a: Token[]): Token[] {
  if (a[0]?.type !== 'at') return a;
  const colon = a.findIndex((t) => t.type === 'colon');
  return colon < 0 ? [] : a.slice(colon + 1);
}

/** Index of the last "@", or -1. */
function lastAt(a: readonly Token[]): number {
  for (let i = a.length - 1; i >= 0; i--) if (a[i]?.type === 'at') return i;
  return -1;
}

function replacePlus(a: Token[], c: Completion): Token[] {
  const last = a[a.length - 1];
  if (last?.type !== 'atom' || !last.text.endsWith('+')) return a;
  return [...a.slice(0, -1), { type: 'atom', text: last.text.slice(0, -1) }, ...c.dotPlus];
}

function appendDomain(a: Token[], c: Completion): Token[] {
  const host = a.slice(lastAt(a) + 1);
  if (host.some((t) => t.type === 'dot' || t.type === 'literal')) return a;
  const only = host.length === 1 ? host[0] : undefined;
  if (only?.type === 'atom' && c.unqualified.has(only.text.toLowerCase())) return a;
  return [...a, ...c.dotDomain];
}

/** Completes one address (reading order) the way qmail-inject's rwgeneric does. */
export function completeAddress(address: readonly Token[], c: Completion): Token[] {
  let a = [...address];
  const n = a.length;
  if (n === 0) return a;
  if (n >= 2 && a[n - 2]?.type === 'at' && a[n - 1]?.type === 'literal' && a[n - 1]?.text === '') return a;
  a = dropRoute(a);
  if (a[a.length - 1]?.type === 'dot') a.pop();
  if (a[a.length - 1]?.type === 'at') a.pop();
  if (a.length === 0) return a;
  if (lastAt(a) < 0) a = [...a, ...c.atHost];
  a = replacePlus(a, c);
  return appendDomain(a, c);
}
