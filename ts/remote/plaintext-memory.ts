// Hosts whose TLS handshake failed, remembered so that the next connections go plaintext
// without trying STARTTLS again (qmail's notlshosts_auto, Haraka#770), for a while.
//
// Interface: new PlaintextHosts({ now, ttlSeconds }); remember(ip), isPlaintext(ip).
// Never consulted for a domain under control/tlsrequired: there a failed handshake is a
// failed delivery, not a reason to go plaintext (the caller enforces that).
// Bounds: at most MAX_HOSTS entries, the oldest evicted; entries expire after ttlSeconds.

export const MAX_HOSTS = 4096;

export class PlaintextHosts {
  /** ip -> ms since the epoch when the memory expires. */
  readonly #until = new Map<string, number>();

  constructor(private readonly opts: { readonly now: () => number; readonly ttlSeconds: number }) {}

  /** The TLS handshake with `ip` failed: go plaintext there for a while. */
  remember(ip: string): void {
    this.#until.delete(ip);
    this.#until.set(ip, this.opts.now() + this.opts.ttlSeconds * 1000);
    if (this.#until.size > MAX_HOSTS) this.#until.delete(this.#until.keys().next().value!);
  }

  /** True while `ip` is remembered as unable to do TLS. */
  isPlaintext(ip: string): boolean {
    const until = this.#until.get(ip);
    if (until === undefined) return false;
    if (this.opts.now() < until) return true;
    this.#until.delete(ip);
    return false;
  }
}
