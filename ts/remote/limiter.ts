// Concurrency limits for outbound SMTP: concurrencyremote transactions in total and
// concurrencyperdomain for any one destination domain, so one slow domain cannot take
// every slot (qmail had only the total).
//
// Interface: new Limiter(total, perDomain); acquire(domain) -> Promise<release>;
// active, waiting.
// Guarantees: a waiter is started as soon as both limits allow it; among startable
// waiters the oldest goes first (FIFO), and a waiter blocked by its domain's limit never
// holds up waiters for other domains. release is idempotent. A limit of 0 (qmail: hold
// remote deliveries) makes every acquire wait until the limits change (setLimits).

type Waiter = { readonly domain: string; readonly start: (release: () => void) => void };

export class Limiter {
  #total: number;
  #perDomain: number;
  #active = 0;
  readonly #byDomain = new Map<string, number>();
  readonly #waiters: Waiter[] = [];

  constructor(total: number, perDomain: number) {
    this.#total = total;
    this.#perDomain = perDomain;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Changes the limits (control files reloaded); waiters that now fit start. */
  setLimits(total: number, perDomain: number): void {
    this.#total = total;
    this.#perDomain = perDomain;
    this.#pump();
  }

  /** Waits for a slot for `domain`; resolves with the function that gives it back. */
  acquire(domain: string): Promise<() => void> {
    return new Promise((resolve) => {
      this.#waiters.push({ domain, start: resolve });
      this.#pump();
    });
  }

  #fits(domain: string): boolean {
    return this.#active < this.#total && (this.#byDomain.get(domain) ?? 0) < this.#perDomain;
  }

  #pump(): void {
    for (let i = 0; i < this.#waiters.length && this.#active < this.#total; ) {
      const w = this.#waiters[i]!;
      if (!this.#fits(w.domain)) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      this.#take(w.domain);
      w.start(this.#releaser(w.domain));
    }
  }

  #take(domain: string): void {
    this.#active++;
    this.#byDomain.set(domain, (this.#byDomain.get(domain) ?? 0) + 1);
  }

  #releaser(domain: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#active--;
      const n = (this.#byDomain.get(domain) ?? 1) - 1;
      if (n === 0) this.#byDomain.delete(domain);
      else this.#byDomain.set(domain, n);
      this.#pump();
    };
  }
}
