// Finding the servers for a domain (RFC 5321 §5.1, qmail-remote's MX logic, RFC 7505).
//
// Interface: findTargets(dns, domain, route, opts) -> Outcome<Target[]>, in the order to
// try; orderMx and dropSelf are the pure steps, exported for unit tests.
// Order: smtproutes relay (an address, '[address]', or a name's A/AAAA; pref 0, no self
// check, like qmail); else an
// address literal ('[1.2.3.4]', '[IPv6:..]', bare dotted quad) at pref 0; else MX by
// preference, equal preferences shuffled, each MX host's IPv6 then IPv4 addresses (qmail
// had no AAAA; RFC 5321 wants both); no MX (NODATA) -> the domain's own A/AAAA.
// Failures:
//   domain NXDOMAIN (or no MX and no address)     -> perm 5.1.2 "Sorry, I couldn't find any host named D."
//   MX/A query times out, SERVFAIL, refused       -> temp 4.1.2 "Sorry, I couldn't find any host by that name."
//   only a null MX ("." , RFC 7505)              -> perm 5.1.10
//   MX hosts exist but none has an address        -> perm 5.4.4 (temp 4.4.3 if a lookup failed temporarily)
//   best MX is this host, nothing better remains  -> perm 5.4.6 (mail loops back to myself)
//   smarthost name does not resolve               -> temp 4.4.3 (qmta: a configuration error an
//                                                    admin fixes; qmail would bounce every message)
// Bounds: at most MAX_TARGETS addresses are returned.

import { isIP } from 'node:net';
import { assertNever, ok, perm, temp, type Outcome } from '../outcome.js';
import type { Tlsa } from './dane.js';
import type { Route } from './routes.js';

export interface Target {
  readonly ip: string;
  readonly family: 4 | 6;
  readonly pref: number;
  /** The MX (or relay) name, for TLS server names and logs; the ip for literals. */
  readonly host: string;
  readonly port: number;
  /** Usable TLSA records of this MX host (DANE, dane.ts): TLS is mandatory and must match them. */
  readonly tlsa?: readonly Tlsa[];
}

/** The node:dns Resolver methods used here (a Resolver instance fits). */
export interface Dns {
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface FindOptions {
  /** Port for MX and A destinations. */
  readonly port: number;
  readonly isLocal: (ip: string) => boolean;
  readonly random?: () => number;
}

export const MAX_TARGETS = 50;

type Lookup<T> = { kind: 'ok'; value: T } | { kind: 'nodata' } | { kind: 'nxdomain' } | { kind: 'temp'; code: string };

/** Runs one query and sorts its failure into nodata / nxdomain / temp (unknown = temp). */
async function query<T>(run: () => Promise<T>): Promise<Lookup<T>> {
  try {
    return { kind: 'ok', value: await run() };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? 'EUNKNOWN');
    if (code === 'ENODATA') return { kind: 'nodata' };
    if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
    return { kind: 'temp', code };
  }
}

interface Addresses {
  readonly ips: { ip: string; family: 4 | 6 }[];
  readonly nxdomain: boolean;
  readonly tempCode: string | undefined;
}

/** AAAA and A of `host`, IPv6 first. */
async function lookupAddresses(dns: Dns, host: string): Promise<Addresses> {
  const [v6, v4] = await Promise.all([query(() => dns.resolve6(host)), query(() => dns.resolve4(host))]);
  const ips: { ip: string; family: 4 | 6 }[] = [];
  if (v6.kind === 'ok') for (const ip of v6.value) ips.push({ ip, family: 6 });
  if (v4.kind === 'ok') for (const ip of v4.value) ips.push({ ip, family: 4 });
  const tempCode = v6.kind === 'temp' ? v6.code : v4.kind === 'temp' ? v4.code : undefined;
  return { ips, nxdomain: v6.kind === 'nxdomain' && v4.kind === 'nxdomain', tempCode };
}

/** MX records by preference, equal preferences in random order (RFC 5321 §5.1). */
export function orderMx<T extends { priority: number }>(records: readonly T[], random: () => number = Math.random): T[] {
  const keyed = records.map((r) => ({ r, k: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return keyed.map((x) => x.r);
}

/** Drops every target not strictly better than this host's best preference (qmail's ipme rule). */
export function dropSelf(targets: readonly Target[], isLocal: (ip: string) => boolean): Target[] {
  const mine = targets.filter((t) => isLocal(t.ip)).map((t) => t.pref);
  if (mine.length === 0) return [...targets];
  const best = Math.min(...mine);
  return targets.filter((t) => t.pref < best);
}

/** An address literal domain ('[1.2.3.4]', '[IPv6:::1]', '1.2.3.4') as its ip, else undefined. */
export function literalAddress(domain: string): string | undefined {
  const inner = domain.startsWith('[') && domain.endsWith(']') ? domain.slice(1, -1).replace(/^ipv6:/i, '') : domain;
  return isIP(inner) !== 0 && (inner !== domain || isIP(inner) === 4) ? inner : undefined;
}

function literalTarget(ip: string, port: number): Target {
  return { ip, family: isIP(ip) === 6 ? 6 : 4, pref: 0, host: ip, port };
}

/** The addresses to try for `domain`, best first. */
export async function findTargets(dns: Dns, domain: string, route: Route, opts: FindOptions): Promise<Outcome<Target[]>> {
  if (route.kind === 'relay') return findRelay(dns, route.relay, route.port);
  const literal = literalAddress(domain);
  const found = literal ? ok([literalTarget(literal, opts.port)]) : await findMx(dns, domain, opts);
  if (found.kind !== 'ok') return found;
  const kept = dropSelf(found.value, opts.isLocal);
  if (kept.length === 0) {
    return perm('5.4.6', "Sorry. Although I'm listed as a best-preference MX or A for that host, " +
      `it isn't in my control/locals file, so I don't treat it as local: mail for ${domain} loops back to myself.`);
  }
  return ok(kept.slice(0, MAX_TARGETS));
}

async function findRelay(dns: Dns, relay: string, port: number): Promise<Outcome<Target[]>> {
  const literal = isIP(relay) !== 0 ? relay : literalAddress(relay);
  if (literal) return ok([literalTarget(literal, port)]);
  const a = await lookupAddresses(dns, relay);
  if (a.ips.length === 0) {
    return temp('4.4.3', `Sorry, I couldn't find the address of smarthost ${relay} (${a.tempCode ?? 'no address'}).`);
  }
  return ok(a.ips.slice(0, MAX_TARGETS).map((x) => ({ ...x, pref: 0, host: relay, port })));
}

async function findMx(dns: Dns, domain: string, opts: FindOptions): Promise<Outcome<Target[]>> {
  const mx = await query(() => dns.resolveMx(domain));
  switch (mx.kind) {
    case 'nxdomain':
      return perm('5.1.2', `Sorry, I couldn't find any host named ${domain}.`);
    case 'temp':
      return temp('4.1.2', `Sorry, I couldn't find any host by that name (${mx.code}).`);
    case 'nodata':
      return implicitMx(dns, domain, opts.port);
    case 'ok':
      return mx.value.length === 0 ? implicitMx(dns, domain, opts.port) : explicitMx(dns, domain, mx.value, opts);
    default:
      return assertNever(mx);
  }
}

/** No MX: the domain's own addresses act as an MX of preference 0 (RFC 5321 §5.1). */
async function implicitMx(dns: Dns, domain: string, port: number): Promise<Outcome<Target[]>> {
  const a = await lookupAddresses(dns, domain);
  if (a.ips.length > 0) return ok(a.ips.map((x) => ({ ...x, pref: 0, host: domain, port })));
  if (a.tempCode) return temp('4.1.2', `Sorry, I couldn't find any host by that name (${a.tempCode}).`);
  return perm('5.1.2', `Sorry, I couldn't find any host named ${domain}.`);
}

async function explicitMx(dns: Dns, domain: string, records: { exchange: string; priority: number }[], opts: FindOptions): Promise<Outcome<Target[]>> {
  const real = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
  if (real.length === 0) return perm('5.1.10', `Sorry, ${domain} does not accept mail (null MX, RFC 7505).`);
  const ordered = orderMx(real, opts.random).slice(0, MAX_TARGETS);
  const looked = await Promise.all(ordered.map((r) => lookupAddresses(dns, r.exchange)));
  const targets: Target[] = [];
  ordered.forEach((r, i) => {
    for (const x of looked[i]!.ips) targets.push({ ...x, pref: r.priority, host: r.exchange, port: opts.port });
  });
  if (targets.length > 0) return ok(targets);
  const tempCode = looked.find((l) => l.tempCode)?.tempCode;
  if (tempCode) return temp('4.4.3', `Sorry, DNS lookup of the mail exchangers for ${domain} failed temporarily (${tempCode}).`);
  return perm('5.4.4', "Sorry, I couldn't find a mail exchanger or IP address.");
}
