// MTA-STS applied to one delivery (RFC 8461 §4, §5): which MX targets may be used and whether
// TLS must verify, with every outcome counted for TLS-RPT (RFC 8460).
//
// Interface: createStsService(settings, reporter?) -> StsService { sts, reporter, close() }
// (the TLS-RPT reporter is shared with DANE: createTlsReporter(settings, log?));
// applySts(service, domain, targets) -> Outcome<{ targets, tlsRequired, tlsReport }>.
//   enforce  targets whose MX name the policy does not list are dropped; the rest need TLS
//            with a certificate valid for the MX name (as control/tlsrequired): no target
//            left -> temp 4.7.5, the message waits (a policy can be fixed; RFC 8461 §5.1)
//   testing  every target is used as before; mismatches and TLS failures are only reported
//   none / no policy   nothing changes (a fetch failure is still reported)
// Only MX deliveries are subject to it: deliver.ts skips smtproutes relays and address
// literals (the admin chose those hosts).
// Failures: the temp 4.7.5 above; lookups never fail (mta-sts.ts).

import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { ok, temp, type Outcome } from '../outcome.js';
import { fetchPolicyText } from './mta-sts-fetch.js';
import { MtaSts, stsTargets, type StsPolicy } from './mta-sts.js';
import type { Target } from './mx.js';
import type { RemoteSettings } from './settings.js';
import { TlsReporter, type ReportPolicy, type TlsFailureType } from './tls-report.js';

export interface StsService {
  readonly sts: MtaSts;
  readonly reporter: TlsReporter | undefined;
  close(): Promise<void>;
}

export interface StsPlan {
  readonly targets: Target[];
  readonly tlsRequired: boolean;
  readonly tlsReport: ((target: Target, result: 'success' | TlsFailureType) => void) | undefined;
}

/** The TLS-RPT reporter of the settings (none without control/tlsrpt). */
export function createTlsReporter(s: RemoteSettings, log?: { warn(o: object, msg?: string): void }): TlsReporter | undefined {
  return s.tlsReportDir
    ? new TlsReporter({ dir: s.tlsReportDir, organization: s.helohost, contact: `postmaster@${s.helohost}`, ...(log ? { log } : {}) })
    : undefined;
}

/** MTA-STS over the settings in force (read at each lookup: DNS servers, CA, port). */
export function createStsService(settings: () => RemoteSettings, reporter: TlsReporter | undefined): StsService {
  const resolver = () => {
    const s = settings();
    const r = new Resolver({ timeout: s.dnsTimeout * 1000, tries: s.dnsTries });
    if (s.dnsServers.length > 0) r.setServers([...s.dnsServers]);
    return r;
  };
  const first = settings();
  const sts = new MtaSts({
    resolver: (name, type) => resolver().resolve(name, type) as Promise<string[][] | string[]>,
    fetch: (domain) => {
      const s = settings();
      return fetchPolicyText(domain, { resolve4: (n) => resolver().resolve4(n), ca: s.tlsCa, port: s.mtaStsPort, timeoutMs: s.mtaStsTimeout * 1000, maxBytes: 64 * 1024 });
    },
    ...(first.stateDir ? { path: join(first.stateDir, 'mta-sts.json') } : {}),
  });
  return { sts, reporter, close: () => sts.saved().then(() => undefined) };
}

/** The targets and TLS rule MTA-STS gives mail for `domain`. */
export async function applySts(svc: StsService, domain: string, targets: readonly Target[]): Promise<Outcome<StsPlan>> {
  const { policy, fetchError } = await svc.sts.lookup(domain);
  const r = svc.reporter;
  if (fetchError) r?.failure(domain, reportPolicy(policy), 'sts-policy-fetch-error');
  if (!policy || policy.mode === 'none') return ok({ targets: [...targets], tlsRequired: false, tlsReport: undefined });
  const { allowed, refused } = stsTargets(policy, targets.map((t) => t.host));
  for (const mx of refused) r?.failure(domain, reportPolicy(policy), 'validation-failure', mx);
  const tlsReport = r ? reporterFor(r, domain, policy) : undefined;
  if (policy.mode === 'testing') return ok({ targets: [...targets], tlsRequired: false, tlsReport });
  const kept = targets.filter((t) => allowed.has(t.host));
  if (kept.length === 0) {
    return temp('4.7.5', `The MTA-STS policy of ${domain} (enforce) lists none of its MX hosts (${refused.join(', ')}); will retry.`);
  }
  return ok({ targets: kept, tlsRequired: true, tlsReport });
}

function reportPolicy(p: StsPolicy | undefined): ReportPolicy | undefined {
  return p && { type: 'sts', strings: p.lines, mx: p.mx };
}

function reporterFor(r: TlsReporter, domain: string, policy: StsPolicy) {
  const p = reportPolicy(policy);
  return (target: Target, result: 'success' | TlsFailureType) => {
    if (result === 'success') r.success(domain, p);
    else r.failure(domain, p, result, target.host, target.ip);
  };
}
