// Downed-host memory, qmail's tcpto: a server whose connects keep timing out is skipped
// for a while, so a dead MX does not hold concurrency slots for timeoutconnect each time.
//
// Interface: new DownedHosts({ now, skipSeconds, path? }); isDown(ip), timedOut(ip),
// reached(ip), list(), clear().
// Rules (qmail tcpto.c): only connect TIMEOUTS count; a timeout is counted only when the
// last counted one is at least 120 s old (concurrent attempts hitting the same dead host
// count once); a completed connect, or a connect that fails any other way (refused),
// resets the count; an address with count >= 2 whose last timeout is younger than
// skipSeconds is down. Count capped at 10.
// Bounds: at most MAX_HOSTS addresses remembered; the oldest entry is evicted (qmail: 64
// slots). Persistence (optional `path`, qmail's queue/lock/tcpto): JSON written by
// write-temp-then-rename on each change; a missing, oversized or malformed file is
// ignored (the memory is an optimisation, never a reason to fail a delivery).

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';

export const MAX_HOSTS = 1024;
const RECOUNT_MS = 120_000;
const MAX_FILE = 1 << 20;

interface Entry {
  count: number;
  /** ms since the epoch of the last counted timeout. */
  last: number;
}

export interface DownedHostsOptions {
  readonly now: () => number;
  readonly skipSeconds: number;
  readonly path?: string;
}

export class DownedHosts {
  readonly #hosts = new Map<string, Entry>();
  readonly #opts: DownedHostsOptions;

  constructor(opts: DownedHostsOptions) {
    this.#opts = opts;
    if (opts.path) this.#load(opts.path);
  }

  /** True when `ip` had 2+ recent connect timeouts: skip it. */
  isDown(ip: string): boolean {
    const e = this.#hosts.get(ip);
    return e !== undefined && e.count >= 2 && this.#opts.now() - e.last < this.#opts.skipSeconds * 1000;
  }

  /** A connect to `ip` timed out. */
  timedOut(ip: string): void {
    const now = this.#opts.now();
    const e = this.#hosts.get(ip);
    if (e && now - e.last < RECOUNT_MS) return;
    this.#hosts.delete(ip); // re-insert: Map order is the eviction order
    this.#hosts.set(ip, { count: Math.min((e?.count ?? 0) + 1, 10), last: now });
    if (this.#hosts.size > MAX_HOSTS) this.#hosts.delete(this.#hosts.keys().next().value!);
    this.#save();
  }

  /** A connect to `ip` completed or failed for a reason other than a timeout. */
  reached(ip: string): void {
    if (this.#hosts.delete(ip)) this.#save();
  }

  /** qmail-tcpto's listing: addresses with at least one recent timeout. */
  list(): { ip: string; count: number; secondsAgo: number }[] {
    const now = this.#opts.now();
    return [...this.#hosts].map(([ip, e]) => ({ ip, count: e.count, secondsAgo: Math.floor((now - e.last) / 1000) }));
  }

  /** qmail-tcpok: forget every timeout. */
  clear(): void {
    this.#hosts.clear();
    this.#save();
  }

  #load(path: string): void {
    try {
      if (statSync(path).size > MAX_FILE) return;
      const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (!Array.isArray(data)) return;
      for (const item of data.slice(-MAX_HOSTS)) {
        const [ip, count, last] = Array.isArray(item) ? item : [];
        if (typeof ip === 'string' && Number.isInteger(count) && Number.isFinite(last)) {
          this.#hosts.set(ip, { count: Math.min(Math.max(count, 0), 10), last });
        }
      }
    } catch {
      // missing or unreadable: start empty (see header)
    }
  }

  #save(): void {
    const path = this.#opts.path;
    if (!path) return;
    const data = JSON.stringify([...this.#hosts].map(([ip, e]) => [ip, e.count, e.last]));
    try {
      writeFileSync(`${path}.tmp`, data);
      renameSync(`${path}.tmp`, path);
    } catch {
      // best effort (see header)
    }
  }
}
