// Line syntax of the remote-delivery control files, for ts/config to call (it reads the
// files, strips comments and blank lines, and hands the lines here).
//
// smtproutes  `key:relay[:port]` (qmail): key 'a.b', '.b' or '' (default route);
//             relay '' = use MX; relay may be '[1.2.3.4]' or '[IPv6:...]' (brackets kept
//             off); port defaults to 25.
// remoteauth  `relay:user:password` (qmta): the password is everything after the second
//             colon, so it may contain colons.
// tlsrequired `domain` or `.suffix` per line (qmta).
// A bad line is reported with its text and skipped; the others still apply (qmail
// ignores what it cannot parse; reporting it is the modern part).

import type { RemoteAuth, SmtpRoute } from './settings.js';

export interface Parsed<T> {
  readonly entries: T[];
  readonly errors: string[];
}

/** Parses control/smtproutes lines. */
export function parseSmtpRoutes(lines: readonly string[]): Parsed<SmtpRoute> {
  const entries: SmtpRoute[] = [];
  const errors: string[] = [];
  for (const line of lines) {
    const route = parseRoute(line.trim());
    if (typeof route === 'string') errors.push(`smtproutes: ${route}: ${line}`);
    else entries.push(route);
  }
  return { entries, errors };
}

function parseRoute(line: string): SmtpRoute | string {
  const colon = line.indexOf(':');
  if (colon < 0) return 'missing colon';
  const key = line.slice(0, colon).toLowerCase();
  let rest = line.slice(colon + 1);
  let relay: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return 'unclosed [';
    relay = rest.slice(1, close).replace(/^ipv6:/i, '');
    rest = rest.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return 'junk after ]';
    rest = rest.slice(1);
  } else {
    const c = rest.indexOf(':');
    relay = c < 0 ? rest : rest.slice(0, c);
    rest = c < 0 ? '' : rest.slice(c + 1);
  }
  const port = rest === '' ? 25 : Number(rest);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'bad port';
  if (/\s/.test(relay) || /\s/.test(key)) return 'space in name';
  return { key, relay: relay.toLowerCase(), port };
}

/** Parses control/remoteauth lines. */
export function parseRemoteAuth(lines: readonly string[]): Parsed<RemoteAuth> {
  const entries: RemoteAuth[] = [];
  const errors: string[] = [];
  for (const line of lines) {
    const m = /^([^:\s]+):([^:]+):(.+)$/.exec(line.trim());
    if (m) entries.push({ relay: m[1]!.toLowerCase(), user: m[2]!, password: m[3]! });
    else errors.push('remoteauth: expected relay:user:password');
  }
  return { entries, errors };
}

/** Parses control/tlsrequired lines. */
export function parseTlsRequired(lines: readonly string[]): Parsed<string> {
  const entries: string[] = [];
  const errors: string[] = [];
  for (const line of lines) {
    const d = line.trim().toLowerCase();
    if (/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d)) entries.push(d);
    else errors.push(`tlsrequired: not a domain: ${line}`);
  }
  return { entries, errors };
}
