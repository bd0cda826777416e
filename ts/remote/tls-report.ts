// TLS-RPT (RFC 8460): what happened to the TLS sessions of deliveries to domains with an
// MTA-STS policy or DANE TLSA records, counted per policy domain, policy and UTC day, written as
// the RFC's aggregate report (JSON) for the operator to send to the domain's rua (qmta does
// not mail them).
//
// Interface: new TlsReporter({ dir, organization, contact, now? }); success(domain, policy);
// failure(domain, policy, type, mx?, ip?); flush() writes DIR/YYYY-MM-DD/DOMAIN.json for
// every day and domain counted since the last flush (the whole day's aggregate, one entry per
// policy: 'sts' (the policy file), 'tlsa' (an MX host's TLSA records), or no-policy-found; a
// rewrite, never an append); close() flushes and stops the timer.
// Files are rewritten atomically every FLUSH_MS while something changed, and a finished day
// is dropped from memory once written. Failure details are bounded (MAX_DETAILS per policy
// and day; past that, failures are counted in the summary only).
// Failures: a write error is logged by the caller's log, if any, and retried at the next flush.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../users/atomic-write.js';

export type TlsFailureType =
  | 'sts-policy-fetch-error' | 'validation-failure' | 'starttls-not-supported' | 'certificate-not-trusted'
  | 'certificate-host-mismatch' | 'certificate-expired' | 'tlsa-invalid' | 'dnssec-invalid';

/** A policy as RFC 8460 §4.3 reports it. */
export interface ReportPolicy {
  readonly type: 'sts' | 'tlsa';
  /** policy-string: the policy file's lines, or the TLSA records. */
  readonly strings: readonly string[];
  /** mx-host: the policy's MX patterns, or the MX host of the TLSA records. */
  readonly mx: readonly string[];
}

export interface TlsReporterOptions {
  readonly dir: string;
  /** organization-name (control/me). */
  readonly organization: string;
  /** contact-info (postmaster@me). */
  readonly contact: string;
  readonly now?: () => number;
  readonly log?: { warn(o: object, msg?: string): void };
}

interface Day {
  readonly policy: ReportPolicy | undefined;
  success: number;
  failure: number;
  details: Map<string, { type: TlsFailureType; mx: string; ip: string; count: number }>;
}

export const FLUSH_MS = 60_000;
export const MAX_DETAILS = 100;

/** Per date, per domain, per policy key. */
type Days = Map<string, Map<string, Map<string, Day>>>;

const policyKey = (p: ReportPolicy | undefined): string => (p ? `${p.type}|${p.mx.join(',')}` : 'none');

export class TlsReporter {
  readonly #days: Days = new Map();
  readonly #dirty = new Set<string>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly o: TlsReporterOptions) {
    this.#now = o.now ?? Date.now;
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  /** A session to one of the domain's MX hosts met its policy. */
  success(domain: string, policy: ReportPolicy | undefined): void {
    this.#day(domain, policy).success++;
  }

  /** A session (or the policy's lookup) failed as `type`. */
  failure(domain: string, policy: ReportPolicy | undefined, type: TlsFailureType, mx = '', ip = ''): void {
    const d = this.#day(domain, policy);
    d.failure++;
    const key = `${type}|${mx}|${ip}`;
    const known = d.details.get(key);
    if (known) known.count++;
    else if (d.details.size < MAX_DETAILS) d.details.set(key, { type, mx, ip, count: 1 });
  }

  #day(domain: string, policy: ReportPolicy | undefined): Day {
    const date = new Date(this.#now()).toISOString().slice(0, 10);
    const days = this.#days.get(date) ?? new Map<string, Map<string, Day>>();
    this.#days.set(date, days);
    const policies = days.get(domain.toLowerCase()) ?? new Map<string, Day>();
    days.set(domain.toLowerCase(), policies);
    const key = policyKey(policy);
    const d = policies.get(key) ?? { policy, success: 0, failure: 0, details: new Map() };
    policies.set(key, d);
    this.#dirty.add(date);
    return d;
  }

  /** Writes every changed day's reports. */
  async flush(): Promise<void> {
    const today = new Date(this.#now()).toISOString().slice(0, 10);
    for (const date of [...this.#dirty]) {
      this.#dirty.delete(date);
      const days = this.#days.get(date);
      if (!days) continue;
      try {
        await mkdir(join(this.o.dir, date), { recursive: true });
        for (const [domain, d] of days) {
          const w = await writeFileAtomic(join(this.o.dir, date, `${domain}.json`), `${JSON.stringify(this.#report(date, domain, d), null, 2)}\n`, 0o644);
          if (w.kind !== 'ok') throw new Error(w.text);
        }
        if (date !== today) this.#days.delete(date);
      } catch (err) {
        this.#dirty.add(date);
        this.o.log?.warn({ err: String(err), date }, 'tls-rpt: report not written');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #report(date: string, domain: string, policies: Map<string, Day>): object {
    return {
      'organization-name': this.o.organization,
      'date-range': { 'start-datetime': `${date}T00:00:00Z`, 'end-datetime': `${date}T23:59:59Z` },
      'contact-info': this.o.contact,
      'report-id': `${date}_${domain}@${this.o.organization}`,
      policies: [...policies.values()].map((d) => policyReport(domain, d)),
    };
  }
}

function policyReport(domain: string, d: Day): object {
  const policy = d.policy
    ? { 'policy-type': d.policy.type, 'policy-string': d.policy.strings, 'policy-domain': domain, 'mx-host': d.policy.mx }
    : { 'policy-type': 'no-policy-found', 'policy-domain': domain };
  return {
    policy,
    summary: { 'total-successful-session-count': d.success, 'total-failure-session-count': d.failure },
    'failure-details': [...d.details.values()].map((x) => ({
      'result-type': x.type, ...(x.ip ? { 'receiving-ip': x.ip } : {}), ...(x.mx ? { 'receiving-mx-hostname': x.mx } : {}),
      'failed-session-count': x.count,
    })),
  };
}
