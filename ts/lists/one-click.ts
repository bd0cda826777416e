// RFC 8058 one-click unsubscription. When a list has a oneClickUrl (an HTTPS address served
// by the site's web server or by the program embedding qmta), each subscriber gets its own
// copy of a post whose List-Unsubscribe names an HTTPS URI carrying the subscriber and an
// HMAC of it, with "List-Unsubscribe-Post: List-Unsubscribe=One-Click". The POST that a mail
// client sends there is handed to oneClickUnsubscribe, which checks the HMAC and removes the
// subscriber at once (the HMAC, keyed by the list's secret, is the proof RFC 8058 asks for).
//
// Interface: oneClickHeaders(cfg, address) -> header text; signAddress(cfg, address);
// oneClickUnsubscribe(state, params) -> Outcome<'removed' | 'not subscribed'>.
// Failures: a list without one-click, a missing or wrong token -> perm 5.7.1; I/O -> temp.
// Guarantees: the comparison is constant-time; the token binds list name and address.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { ok, perm, type Outcome } from '../outcome.js';
import { listAddress } from './addresses.js';
import { changeSubscribers, normalizeAddress, readConfig, type ListConfig, type ListState } from './store.js';

/** The HMAC-SHA256 (hex) of the list name and the address, keyed by the list's secret. */
export function signAddress(cfg: ListConfig, address: string): string {
  return createHmac('sha256', Buffer.from(cfg.secret ?? '', 'hex')).update(`${cfg.name}\n${address}`).digest('hex');
}

/** The subscriber's one-click URI. */
export function oneClickUri(cfg: ListConfig, address: string): string {
  const u = new URL(cfg.oneClickUrl ?? '');
  u.searchParams.set('list', cfg.name);
  u.searchParams.set('address', address);
  u.searchParams.set('token', signAddress(cfg, address));
  return u.href;
}

/** List-Unsubscribe (mailto and the one-click URI) and List-Unsubscribe-Post for one subscriber. */
export function oneClickHeaders(cfg: ListConfig, address: string): string {
  return `List-Unsubscribe: <mailto:${listAddress(cfg, 'unsubscribe')}>,\n <${oneClickUri(cfg, address)}>\n` +
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click\n';
}

/** Removes the subscriber named by a one-click request (the URI's query parameters). */
export async function oneClickUnsubscribe(s: ListState, params: URLSearchParams): Promise<Outcome<'removed' | 'not subscribed'>> {
  const cfg = await readConfig(s);
  if (cfg.kind !== 'ok') return cfg;
  const refused = perm('5.7.1', 'this unsubscription link is not valid');
  if (!cfg.value.oneClickUrl || !cfg.value.secret || params.get('list') !== cfg.value.name) return refused;
  const address = normalizeAddress(params.get('address') ?? '');
  const token = Buffer.from(params.get('token') ?? '', 'hex');
  if (address === undefined) return refused;
  const want = Buffer.from(signAddress(cfg.value, address), 'hex');
  if (token.length !== want.length || !timingSafeEqual(token, want)) return refused;
  let found = false;
  const r = await changeSubscribers(s, (cur) => {
    found = cur.includes(address);
    return cur.filter((a) => a !== address);
  });
  if (r.kind !== 'ok') return r;
  return ok(found ? 'removed' : 'not subscribed');
}
