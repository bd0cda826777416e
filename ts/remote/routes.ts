// Which way a domain's mail goes: control/smtproutes first (qmail's key order), else MX.
// Also the per-domain policy lookups that use the same keys: tlsrequired, remoteauth.
//
// Interface: findRoute(routes, domain) -> { kind: 'mx' } | { kind: 'relay', relay, port };
// tlsRequiredFor(list, domain); authFor(auth, relay).
// Guarantees: pure; first hit wins in key order a.b.c, .b.c, .c, '' (qmail's
// constmap order), and within one key the first line wins; an empty relay means "MX as
// usual" (an exception before a catch-all default route).

import { lookupKeys, type RemoteAuth, type SmtpRoute } from './settings.js';

export type Route =
  | { readonly kind: 'mx' }
  | { readonly kind: 'relay'; readonly relay: string; readonly port: number };

/** The route for mail to `domain`. */
export function findRoute(routes: readonly SmtpRoute[], domain: string): Route {
  for (const key of lookupKeys(domain)) {
    const hit = routes.find((r) => r.key === key);
    if (hit) return hit.relay === '' ? { kind: 'mx' } : { kind: 'relay', relay: hit.relay, port: hit.port };
  }
  return { kind: 'mx' };
}

/** True when control/tlsrequired names `domain` (exactly or by a '.suffix' entry). */
export function tlsRequiredFor(required: readonly string[], domain: string): boolean {
  const keys = lookupKeys(domain).filter((k) => k !== '');
  return keys.some((k) => required.includes(k));
}

/** The credentials for a smarthost, by its relay name as written in smtproutes. */
export function authFor(auth: readonly RemoteAuth[], relay: string): RemoteAuth | undefined {
  return auth.find((a) => a.relay === relay.toLowerCase());
}
