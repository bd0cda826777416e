// The TLS rules of one MX delivery: DANE (RFC 7672) first, then MTA-STS (RFC 8461): DANE takes
// precedence when it applies (RFC 8461 §2), every outcome counted for TLS-RPT (RFC 8460).
//
// Interface: daneTrusted(settings) -> whether control/dane may act; planTls(services,
// settings, domain, targets) -> Outcome<StsPlan> (sts-apply.ts's shape: targets, tlsRequired,
// tlsReport).
// DANE is honoured only when control/dane is on and every control/dnsservers entry is on
// loopback (127.0.0.0/8, ::1): the AD bit says "validated" only if nobody on the path to the
// resolver can set it, so the resolver must be this host's own (RFC 6698 §4.1, RFC 4035 §4.9.3).
// With DANE:
//   MX (or, without MX, the address) RRset insecure   -> as without DANE (MTA-STS may apply)
//   MX lookup failed (SERVFAIL, bogus, no answer)     -> temp 4.4.3
//   an MX host's TLSA/address lookup failed           -> that host is not used (never in
//                                                        plaintext); none left -> temp 4.4.3
//   some MX host has usable TLSA records              -> DANE applies: those hosts need TLS
//                                                        matching their records (attempt.ts),
//                                                        the others go as usual; MTA-STS is
//                                                        not consulted
// TLS-RPT: per MX host with usable records, policy-type tlsa (successes, starttls-not-supported,
// validation-failure); a failed lookup is dnssec-invalid, only unusable records tlsa-invalid.
// Failures: the temp 4.4.3 above and MTA-STS's temp 4.7.5 (sts-apply.ts).

import { ok, temp, type Outcome } from '../outcome.js';
import { findDane, tlsaText, type DaneHost } from './dane.js';
import { createSecureDns, isLoopbackServer } from './dns-secure.js';
import type { Target } from './mx.js';
import type { RemoteSettings } from './settings.js';
import { applySts, type StsPlan, type StsService } from './sts-apply.js';
import type { ReportPolicy, TlsFailureType, TlsReporter } from './tls-report.js';

export interface TlsServices {
  readonly sts: StsService | undefined;
  readonly reporter: TlsReporter | undefined;
}

/** control/dane is on and its resolvers' AD bit can be trusted (all on loopback). */
export function daneTrusted(s: RemoteSettings): boolean {
  return s.dane && s.dnsServers.length > 0 && s.dnsServers.every(isLoopbackServer);
}

/** The targets and TLS rules for mail to `domain` over MX `targets`. */
export async function planTls(svc: TlsServices, s: RemoteSettings, domain: string, targets: readonly Target[]): Promise<Outcome<StsPlan>> {
  let rest = [...targets];
  if (daneTrusted(s)) {
    const dane = await applyDane(svc.reporter, s, domain, targets);
    if (dane.kind !== 'ok') return dane;
    if ('plan' in dane.value) return ok(dane.value.plan);
    rest = dane.value.targets;
  }
  if (svc.sts && s.mtaSts) return applySts(svc.sts, domain, rest);
  return ok({ targets: rest, tlsRequired: false, tlsReport: undefined });
}

type DaneResult = { readonly plan: StsPlan } | { readonly targets: Target[] };

const tlsaPolicy = (host: string, h: DaneHost): ReportPolicy => ({ type: 'tlsa', strings: h.kind === 'dane' ? h.tlsa.map(tlsaText) : [], mx: [host] });

async function applyDane(r: TlsReporter | undefined, s: RemoteSettings, domain: string, targets: readonly Target[]): Promise<Outcome<DaneResult>> {
  const dns = createSecureDns(s.dnsServers, { timeoutMs: s.dnsTimeout * 1000, tries: s.dnsTries });
  const found = await findDane(dns, domain, targets);
  if (found.kind === 'failed') return temp('4.4.3', `DNSSEC lookup for ${domain} failed (${found.why}); will retry.`);
  if (found.kind === 'insecure') return ok({ targets: [...targets] });
  const hostOf = (t: Target) => found.hosts.get(t.host.toLowerCase());
  for (const [host, h] of found.hosts) {
    if (h.kind === 'failed') r?.failure(domain, tlsaPolicy(host, h), 'dnssec-invalid', host);
    if (h.kind === 'none' && h.unusable) r?.failure(domain, tlsaPolicy(host, h), 'tlsa-invalid', host);
  }
  const kept = targets.filter((t) => hostOf(t)?.kind !== 'failed')
    .map((t) => { const h = hostOf(t); return h?.kind === 'dane' ? { ...t, tlsa: h.tlsa } : t; });
  if (kept.length === 0) {
    const why = [...found.hosts.values()].map((h) => (h.kind === 'failed' ? h.why : '')).filter((x) => x).join('; ');
    return temp('4.4.3', `DANE: the TLSA lookups for every MX host of ${domain} failed (${why}); will retry.`);
  }
  if (!kept.some((t) => t.tlsa)) return ok({ targets: kept });
  const tlsReport = r ? (t: Target, result: 'success' | TlsFailureType) => {
    const h = hostOf(t);
    if (!h || h.kind !== 'dane') return;
    if (result === 'success') r.success(domain, tlsaPolicy(t.host, h));
    else r.failure(domain, tlsaPolicy(t.host, h), result, t.host, t.ip);
  } : undefined;
  return ok({ plan: { targets: kept, tlsRequired: false, tlsReport } });
}
