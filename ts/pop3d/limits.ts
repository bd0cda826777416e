// Per-address bookkeeping for the POP3 listener: failed logins and open connections.
//
// Interface: FailureTracker(max, windowMs, now).record(ip) / blocked(ip);
// ConnectionCounter(total, perIp).enter(ip) -> 'ok' | 'total' | 'ip'; leave(ip).
// Guarantees: memory is bounded: failures older than the window are forgotten, and the
// table holds at most MAX_TRACKED addresses (the oldest entries go first), so a flood
// of addresses cannot grow it without limit.

const MAX_TRACKED = 10_000;

export class FailureTracker {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes one failed authentication from `ip`. */
  record(ip: string): void {
    const list = this.recent(ip);
    list.push(this.now());
    this.failures.delete(ip);
    this.failures.set(ip, list.slice(-this.max));
    if (this.failures.size > MAX_TRACKED) {
      this.failures.delete(this.failures.keys().next().value as string);
    }
  }

  /** True when `ip` has used up its failures for the current window. */
  blocked(ip: string): boolean {
    return this.recent(ip).length >= this.max;
  }

  private recent(ip: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.failures.get(ip) ?? []).filter((t) => t > since);
  }
}

export class ConnectionCounter {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Counts a new connection unless a limit is reached. */
  enter(ip: string): 'ok' | 'total' | 'ip' {
    if (this.total >= this.maxTotal) return 'total';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) return 'ip';
    this.perIp.set(ip, n + 1);
    this.total++;
    return 'ok';
  }

  /** Releases a connection counted by enter(). */
  leave(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    this.total--;
  }
}
