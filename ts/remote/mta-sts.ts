// MTA-STS (RFC 8461) for outbound mail: which policy applies to a recipient domain, cached
// as §3.3 and §5.1 say, and what it means for the MX hosts found.
//
// Interface: new MtaSts(deps).lookup(domain) -> Promise<StsLookup>; stsTargets(policy, hosts)
// -> which MX host names the policy allows (mailauth's validateMx: exact or "*." one label).
// Cache: a policy is kept until now + max_age. A lookup reads the TXT record
// _mta-sts.DOMAIN first: when its id equals the cached policy's, or the TXT lookup fails or
// finds nothing while a cached policy is still valid, the cached policy applies (a DNS
// attacker cannot downgrade a cached domain); a new id fetches the policy file (ts/remote/
// mta-sts-fetch.ts). A fetch that fails keeps a valid cached policy, else no policy applies
// and the domain is not asked again for FAILURE_RETRY_MS. The cache is saved to deps.path
// (JSON, rewritten atomically after a change) so a restart keeps it; at most MAX_DOMAINS.
// Failures: none thrown: a lookup says fetchError (for TLS-RPT's sts-policy-fetch-error) and
// applies the cached policy or none.

import { readFileSync } from 'node:fs';
import { parsePolicy, resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import { writeFileAtomic } from '../users/atomic-write.js';
import type { Outcome } from '../outcome.js';

export interface StsPolicy {
  readonly id: string;
  readonly mode: 'enforce' | 'testing' | 'none';
  readonly mx: readonly string[];
  readonly maxAge: number;
  /** ms since the epoch. */
  readonly expires: number;
  /** The policy file's lines, for TLS-RPT's policy-string. */
  readonly lines: readonly string[];
}

export interface StsLookup {
  readonly policy: StsPolicy | undefined;
  /** Why no fresh policy could be had (DNS or HTTPS), when that happened. */
  readonly fetchError?: string;
}

export interface MtaStsDeps {
  /** TXT lookup ((name, 'TXT') -> string[][]), as mailauth calls it. */
  readonly resolver: (name: string, type: string) => Promise<string[][] | string[]>;
  readonly fetch: (domain: string) => Promise<Outcome<string>>;
  readonly now?: () => number;
  /** Where the cache is kept across restarts; none = memory only. */
  readonly path?: string;
}

export const FAILURE_RETRY_MS = 5 * 60_000;
export const MAX_DOMAINS = 10_000;

export class MtaSts {
  readonly #policies = new Map<string, StsPolicy>();
  readonly #retryAt = new Map<string, number>();
  readonly #now: () => number;
  #saving: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MtaStsDeps) {
    this.#now = deps.now ?? Date.now;
    if (deps.path) this.#load(deps.path);
  }

  /** The policy that applies to mail for `domain`. */
  async lookup(domain: string): Promise<StsLookup> {
    const d = domain.toLowerCase();
    const now = this.#now();
    const cached = this.#policies.get(d);
    const valid = cached && cached.expires > now ? cached : undefined;
    let id: string | false;
    try {
      id = await resolvePolicy(d, { resolver: this.deps.resolver });
    } catch (err) {
      return { policy: valid, fetchError: `TXT _mta-sts.${d}: ${(err as { code?: string }).code ?? String(err)}` };
    }
    if (id === false || id === valid?.id) return { policy: valid };
    if ((this.#retryAt.get(d) ?? 0) > now) return { policy: valid, fetchError: 'policy fetch failed recently' };
    return this.#fetch(d, id, valid);
  }

  async #fetch(domain: string, id: string, valid: StsPolicy | undefined): Promise<StsLookup> {
    const text = await this.deps.fetch(domain);
    let policy: StsPolicy;
    try {
      if (text.kind !== 'ok') throw new Error(text.text);
      const p = parsePolicy(text.value);
      const maxAge = p.maxAge ?? 0;
      policy = { id, mode: p.mode, mx: p.mx ?? [], maxAge, expires: this.#now() + maxAge * 1000, lines: text.value.split(/\r?\n/).filter((l) => l !== '') };
    } catch (err) {
      this.#retryAt.set(domain, this.#now() + FAILURE_RETRY_MS);
      return { policy: valid, fetchError: (err as Error).message };
    }
    this.#retryAt.delete(domain);
    this.#remember(domain, policy);
    return { policy };
  }

  #remember(domain: string, policy: StsPolicy): void {
    this.#policies.delete(domain);
    this.#policies.set(domain, policy);
    // Oldest first out (Map keeps insertion order): the cache stays bounded.
    while (this.#policies.size > MAX_DOMAINS) this.#policies.delete(this.#policies.keys().next().value!);
    const path = this.deps.path;
    if (path) this.#saving = this.#saving.then(() => writeFileAtomic(path, JSON.stringify([...this.#policies]), 0o600));
  }

  /** Resolves once the cache file holds every change made so far. */
  saved(): Promise<unknown> {
    return this.#saving;
  }

  #load(path: string): void {
    try {
      const entries = JSON.parse(readFileSync(path, 'utf8')) as [string, StsPolicy][];
      for (const [d, p] of entries.slice(-MAX_DOMAINS)) if (typeof p?.id === 'string' && typeof p.expires === 'number') this.#policies.set(d, p);
    } catch {
      // No cache yet, or a damaged one: start empty (policies are fetched again).
    }
  }
}

/** The MX host names `policy` allows (all of them when there is no policy or mode none). */
export function stsTargets(policy: StsPolicy | undefined, hosts: readonly string[]): { allowed: Set<string>; refused: string[] } {
  const allowed = new Set<string>();
  const refused: string[] = [];
  for (const h of new Set(hosts)) {
    const ok = !policy || policy.mode === 'none' || validateMx(h, { id: policy.id, mode: policy.mode, mx: [...policy.mx] }).valid;
    if (ok) allowed.add(h);
    else refused.push(h);
  }
  return { allowed, refused };
}
