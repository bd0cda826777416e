// TLS-RPT (RFC 8460): what happened to the TLS sessions of deliveries to domains with an
// MTA-STS policy, counted per policy domain and UTC day, written as the RFC's aggregate
// report (JSON) for the operator to send to the domain's rua (qmta does not mail them).
//
// Interface: new TlsReporter({ dir, organization, contact, now? }); success(domain, policy,
// mx); failure(domain, policy, type, mx?, ip?, detail?); flush() writes
// DIR/YYYY-MM-DD/DOMAIN.json for every day and domain counted since the last flush (the
// whole day's aggregate: a rewrite, never an append); close() flushes and stops the timer.
// Files are rewritten atomically every FLUSH_MS while something changed, and a finished day
// is dropped from memory once written. Failure details are bounded (MAX_DETAILS per domain
// and day; past that, failures are counted in the summary only).
// Failures: a write error is logged by the caller's log, if any, and retried at the next flush.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../users/atomic-write.js';
import type { StsPolicy } from './mta-sts.js';

export type TlsFailureType =
  | 'sts-policy-fetch-error' | 'validation-failure' | 'starttls-not-supported' | 'certificate-not-trusted'
  | 'certificate-host-mismatch' | 'certificate-expired';

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
  policy: StsPolicy | undefined;
  success: number;
  failure: number;
  details: Map<string, { type: TlsFailureType; mx: string; ip: string; count: number }>;
}

export const FLUSH_MS = 60_000;
export const MAX_DETAILS = 100;

export class TlsReporter {
  readonly #days = new Map<string, Map<string, Day>>();
  readonly #dirty = new Set<string>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly o: TlsReporterOptions) {
    this.#now = o.now ?? Date.now;
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  /** A session to one of the domain's MX hosts met its policy. */
  success(domain: string, policy: StsPolicy | undefined): void {
    this.#day(domain, policy).success++;
  }

  /** A session (or the policy fetch) failed as `type`. */
  failure(domain: string, policy: StsPolicy | undefined, type: TlsFailureType, mx = '', ip = ''): void {
    const d = this.#day(domain, policy);
    d.failure++;
    const key = `${type}|${mx}|${ip}`;
    const known = d.details.get(key);
    if (known) known.count++;
    else if (d.details.size < MAX_DETAILS) d.details.set(key, { type, mx, ip, count: 1 });
  }

  #day(domain: string, policy: StsPolicy | undefined): Day {
    const date = new Date(this.#now()).toISOString().slice(0, 10);
    const days = this.#days.get(date) ?? new Map<string, Day>();
    this.#days.set(date, days);
    const d = days.get(domain.toLowerCase()) ?? { policy, success: 0, failure: 0, details: new Map() };
    d.policy = policy ?? d.policy;
    days.set(domain.toLowerCase(), d);
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

  #report(date: string, domain: string, d: Day): object {
    const policy = d.policy
      ? { 'policy-type': 'sts', 'policy-string': d.policy.lines, 'policy-domain': domain, 'mx-host': d.policy.mx }
      : { 'policy-type': 'no-policy-found', 'policy-domain': domain };
    return {
      'organization-name': this.o.organization,
      'date-range': { 'start-datetime': `${date}T00:00:00Z`, 'end-datetime': `${date}T23:59:59Z` },
      'contact-info': this.o.contact,
      'report-id': `${date}_${domain}@${this.o.organization}`,
      policies: [{
        policy,
        summary: { 'total-successful-session-count': d.success, 'total-failure-session-count': d.failure },
        'failure-details': [...d.details.values()].map((x) => ({
          'result-type': x.type, ...(x.ip ? { 'receiving-ip': x.ip } : {}), ...(x.mx ? { 'receiving-mx-hostname': x.mx } : {}),
          'failed-session-count': x.count,
        })),
      }],
    };
  }
}
