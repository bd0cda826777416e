// A bounded table of rows keyed by a string (senders, recipients, domains, reasons), for
// reports over logs of any size: memory stays O(capacity).
//
// Interface: new TopN(capacity, make, rank); row(key) -> the row to update; top(n) -> the
// n highest-ranked rows; exact / maxError say how far the figures can be off.
// Guarantees: while the table never held more than `capacity` keys, every row is exact.
// Past that, the lower-ranked half is dropped (Misra-Gries style, amortised O(log n) a
// row): a key seen again starts from zero, so each kept row's figures are lower bounds and
// its true rank is at most maxError higher; a key whose true rank exceeds maxError is
// always in the table.

export interface TopRow<R> {
  readonly key: string;
  readonly row: R;
}

export class TopN<R> {
  private readonly rows = new Map<string, R>();
  /** The highest rank ever dropped: the bound on each row's undercount. */
  maxError = 0;
  /** Keys dropped so far. */
  dropped = 0;

  constructor(
    private readonly capacity: number,
    private readonly make: () => R,
    private readonly rank: (r: R) => number,
  ) {}

  /** The row of `key`, created when missing. */
  row(key: string): R {
    let r = this.rows.get(key);
    if (r === undefined) {
      if (this.rows.size >= this.capacity) this.prune();
      r = this.make();
      this.rows.set(key, r);
    }
    return r;
  }

  get size(): number {
    return this.rows.size;
  }

  get exact(): boolean {
    return this.dropped === 0;
  }

  /** The n highest-ranked rows, highest first (ties by key). */
  top(n: number): TopRow<R>[] {
    return [...this.rows].map(([key, row]) => ({ key, row }))
      .sort((a, b) => this.rank(b.row) - this.rank(a.row) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n);
  }

  /** Drops the lower-ranked half. */
  private prune(): void {
    const ranked = [...this.rows].sort((a, b) => this.rank(a[1]) - this.rank(b[1]));
    const cut = ranked.length - Math.floor(this.capacity / 2);
    for (let i = 0; i < cut; i++) {
      const [key, row] = ranked[i]!;
      this.maxError = Math.max(this.maxError, this.rank(row));
      this.rows.delete(key);
      this.dropped++;
    }
  }
}
