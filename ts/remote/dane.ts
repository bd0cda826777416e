// DANE for SMTP (RFC 7672): which MX hosts of a destination have usable TLSA records, found
// with DNSSEC-validated answers from the configured resolver (dns-secure.ts, the AD bit).
//
// Interface: findDane(dns, domain, targets) -> Promise<DaneLookup>:
//   insecure          the MX RRset (or, without MX, the domain's address records) is not
//                     validated: DANE does not apply (§2.2); delivery as without DANE
//   hosts             per MX host: 'dane' (usable TLSA: TLS is mandatory and the certificate
//                     must match them), 'none' (no TLSA records, insecure address or TLSA
//                     records, or only unusable ones: opportunistic TLS as without DANE), or
//                     'failed' (the TLSA or address lookup failed: SERVFAIL, a bogus answer,
//                     no answer: that host is not used, never in plaintext; §2.1.1, §2.2)
//   failed            the MX lookup itself failed
// Usable (§3.1): DANE-TA(2) and DANE-EE(3) with selector 0/1 and matching type 0/1/2 and a
// digest of the right length; PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (§3.1.3).
// The TLSA name is _PORT._tcp.HOST for each target's port and MX host name.
// Not done: following a CNAME'd MX host name to its TLSA base domain (§2.2.3); the TLSA of
// the name as given is used.
// Failures: none thrown; lookups fail as values (above).

import type { Answer } from 'dns-packet';
import type { Target } from './mx.js';
import type { SecureAnswer, SecureDns } from './dns-secure.js';

export interface Tlsa {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

export type DaneHost =
  | { readonly kind: 'dane'; readonly tlsa: readonly Tlsa[] }
  | { readonly kind: 'none'; readonly unusable: boolean }
  | { readonly kind: 'failed'; readonly why: string };

export type DaneLookup =
  | { readonly kind: 'insecure' }
  | { readonly kind: 'failed'; readonly why: string }
  | { readonly kind: 'hosts'; readonly hosts: ReadonlyMap<string, DaneHost> };

const DIGEST_BYTES: Record<number, number> = { 1: 32, 2: 64 };

/** True for a record RFC 7672 lets an SMTP client use. */
export function usable(t: Tlsa): boolean {
  if (t.usage !== 2 && t.usage !== 3) return false;
  if (t.selector !== 0 && t.selector !== 1) return false;
  if (t.matchingType === 0) return t.data.length > 0;
  return DIGEST_BYTES[t.matchingType] === t.data.length;
}

/** A TLSA record in presentation form ("3 1 1 ab12..."), for logs and TLS-RPT. */
export function tlsaText(t: Tlsa): string {
  return `${t.usage} ${t.selector} ${t.matchingType} ${t.data.toString('hex')}`;
}

/** An answer that proves something: NOERROR (with or without records) or NXDOMAIN. */
function settled(a: SecureAnswer): a is Extract<SecureAnswer, { kind: 'answer' }> {
  return a.kind === 'answer' && (a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN');
}

function failure(what: string, a: SecureAnswer): string {
  return `${what}: ${a.kind === 'failed' ? a.why : a.rcode}`;
}

/** DANE's view of mail for `domain`, delivered to `targets` (from mx.ts). */
export async function findDane(dns: SecureDns, domain: string, targets: readonly Target[]): Promise<DaneLookup> {
  const mx = await dns(domain, 'MX');
  if (!settled(mx)) return { kind: 'failed', why: failure(`MX ${domain}`, mx) };
  if (!mx.ad) return { kind: 'insecure' };
  const hosts = new Map<string, DaneHost>();
  const ports = new Map<string, number>();
  for (const t of targets) ports.set(t.host.toLowerCase(), t.port);
  await Promise.all([...ports].map(async ([host, port]) => { hosts.set(host, await lookupHost(dns, host, port)); }));
  return { kind: 'hosts', hosts };
}

async function lookupHost(dns: SecureDns, host: string, port: number): Promise<DaneHost> {
  // §2.2.2: TLSA records only count for a host whose address records are secure.
  const [a, aaaa] = await Promise.all([dns(host, 'A'), dns(host, 'AAAA')]);
  for (const [what, x] of [['A', a], ['AAAA', aaaa]] as const) if (!settled(x)) return { kind: 'failed', why: failure(`${what} ${host}`, x) };
  if (!(a as { ad: boolean }).ad || !(aaaa as { ad: boolean }).ad) return { kind: 'none', unusable: false };
  const name = `_${port}._tcp.${host}`;
  const r = await dns(name, 'TLSA');
  if (!settled(r)) return { kind: 'failed', why: failure(`TLSA ${name}`, r) };
  if (!r.ad || r.records.length === 0) return { kind: 'none', unusable: false };
  const tlsa = r.records.map(toTlsa).filter((t): t is Tlsa => t !== undefined);
  const ok = tlsa.filter(usable);
  return ok.length > 0 ? { kind: 'dane', tlsa: ok } : { kind: 'none', unusable: true };
}

function toTlsa(a: Answer): Tlsa | undefined {
  if (a.type !== 'TLSA') return undefined;
  const d = a.data as { usage: number; selector: number; matchingType: number; certificate: Buffer };
  return { usage: d.usage, selector: d.selector, matchingType: d.matchingType, data: Buffer.from(d.certificate) };
}
