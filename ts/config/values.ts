// Item parsers for the structured control files: listen addresses, networks (IP/CIDR),
// resolver addresses, smtproutes, virtualdomains, remoteauth, file paths.
//
// Interface: each export is an ItemParser (text -> { value } | { reason }).
// Failures: a malformed entry gives a reason naming what is wrong; key.ts adds the line.
// Guarantee: values are normalised (domains lowercased, ports numbers, IPv6 unbracketed)
// so consumers never parse control text again.

import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import type { ItemParser, Parsed } from './key.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Network {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** smtproutes entry: relay '' means "look up MX for the domain" (qmail's `dom:`). */
export interface SmtpRoute {
  readonly domain: string;
  readonly relay: string;
  readonly port: number | undefined;
}

/** virtualdomains entry: key '' is the catch-all, prepend '' is an exception. */
export interface VirtualDomain {
  readonly key: string;
  readonly prepend: string;
}

/** remoteauth entry: credentials used when delivering through `host`. */
export interface RemoteAuth {
  readonly host: string;
  readonly user: string;
  readonly password: string;
}

function parsePort(text: string, allowZero: boolean): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 && (allowZero || n > 0) ? n : undefined;
}

/** Splits "host:port", "[v6]:port"; returns undefined port text when there is none. */
function splitHostPort(text: string): { host: string; port: string | undefined } | undefined {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    const rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    return { host: text.slice(1, end), port: rest === '' ? undefined : rest.slice(1) };
  }
  if (isIP(text) === 6) return { host: text, port: undefined };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text, port: undefined };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** "127.0.0.1:2525", "[::1]:2525", "localhost:2525"; port 0 lets the OS choose (tests). */
export const listenAddress: ItemParser<ListenAddress> = (text) => {
  const hp = splitHostPort(text);
  if (!hp || hp.port === undefined || hp.host === '' || /\s/.test(hp.host)) {
    return { reason: `"${text}" is not HOST:PORT` };
  }
  const port = parsePort(hp.port, true);
  if (port === undefined) return { reason: `bad port in "${text}"` };
  return { value: { host: hp.host, port } };
};

/** "10.0.0.0/8", "192.0.2.7" (= /32), "::1", "2001:db8::/32". */
export const network: ItemParser<Network> = (text) => {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return { reason: `"${text}" is not an IP address or CIDR network` };
  const max = v === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return { reason: `bad prefix length in "${text}"` };
  }
  return { value: { address, prefix: Number(prefixText), family: v === 4 ? 'ipv4' : 'ipv6' } };
};

/** A resolver "ip" or "ip:port" / "[v6]:port", printed the way dns.Resolver.setServers takes it. */
export const dnsServer: ItemParser<string> = (text) => {
  const hp = splitHostPort(text);
  if (!hp || isIP(hp.host) === 0) return { reason: `"${text}" is not an IP address[:port]` };
  if (hp.port === undefined) return { value: hp.host };
  const port = parsePort(hp.port, false);
  if (port === undefined) return { reason: `bad port in "${text}"` };
  return { value: isIP(hp.host) === 6 ? `[${hp.host}]:${port}` : `${hp.host}:${port}` };
};

/** qmail's `domain:relay[:port]`; relay may be `[1.2.3.4]` or `[v6]`, kept with brackets. */
export const smtpRoute: ItemParser<SmtpRoute> = (text) => {
  const colon = text.indexOf(':');
  if (colon < 0) return { reason: `"${text}" has no ':' (domain:relay[:port])` };
  const domain = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  const end = rest.startsWith('[') ? rest.indexOf(']') + 1 : 0;
  const portColon = rest.indexOf(':', end);
  const relay = portColon < 0 ? rest : rest.slice(0, portColon);
  if (portColon < 0) return { value: { domain, relay, port: undefined } };
  const port = parsePort(rest.slice(portColon + 1), false);
  if (port === undefined || (rest.startsWith('[') && end === 0)) return { reason: `bad relay or port in "${text}"` };
  return { value: { domain, relay, port } };
};

/**
 * virtualdomains `key:prepend`. qmail's constmap skips lines without a colon; we report
 * them instead, because a silently ignored virtual domain turns into remote delivery.
 */
export const virtualDomain: ItemParser<VirtualDomain> = (text) => {
  const colon = text.indexOf(':');
  if (colon < 0) return { reason: `"${text}" has no ':' (domain:prepend)` };
  return { value: { key: text.slice(0, colon).toLowerCase(), prepend: text.slice(colon + 1) } };
};

/** remoteauth `host:user:password`; the password is the rest of the line (may hold ':'). */
export const remoteAuth: ItemParser<RemoteAuth> = (text) => {
  const a = text.indexOf(':');
  const b = a < 0 ? -1 : text.indexOf(':', a + 1);
  if (a <= 0 || b < 0 || b === a + 1) return { reason: 'entry is not host:user:password' };
  return { value: { host: text.slice(0, a).toLowerCase(), user: text.slice(a + 1, b), password: text.slice(b + 1) } };
};

/** A path, relative to the home directory unless absolute. */
export function homePath(text: string, home: string): Parsed<string> {
  if (text === '') return { reason: 'empty path' };
  return { value: isAbsolute(text) ? text : join(home, text) };
}
