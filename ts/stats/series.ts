// Counts over time for charts (deliveries per minute by result, deferrals over time) in
// bounded memory: buckets start one minute wide and double in width whenever more than
// MAX_BUCKETS would be needed, so a year of logs still yields at most 1,440 points.
//
// Interface: new Series(fields); add(timeMs, field); points() -> {t, width, counts}[] in time
// order; width in ms is the same for every point.

const MAX_BUCKETS = 1440;

export interface SeriesPoint {
  /** Start of the bucket, ms since the epoch. */
  readonly t: number;
  readonly counts: Record<string, number>;
}

export class Series {
  width = 60_000;
  private buckets = new Map<number, Float64Array>();
  private lo = Infinity;
  private hi = -Infinity;

  constructor(private readonly fields: readonly string[]) {}

  add(timeMs: number, field: number): void {
    let k = Math.floor(timeMs / this.width);
    if (k < this.lo || k > this.hi) {
      while (Math.max(this.hi, k) - Math.min(this.lo, k) >= MAX_BUCKETS) {
        this.coarsen();
        k = Math.floor(timeMs / this.width);
      }
      this.lo = Math.min(this.lo, k);
      this.hi = Math.max(this.hi, k);
    }
    let b = this.buckets.get(k);
    if (b === undefined) this.buckets.set(k, b = new Float64Array(this.fields.length));
    b[field]!++;
  }

  /** Every bucket from the first to the last (empty ones as zeros), in time order. */
  points(): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (let k = this.lo; k <= this.hi; k++) {
      const b = this.buckets.get(k);
      out.push({ t: k * this.width, counts: Object.fromEntries(this.fields.map((f, i) => [f, b?.[i] ?? 0])) });
    }
    return out;
  }

  private coarsen(): void {
    const next = new Map<number, Float64Array>();
    for (const [k, b] of this.buckets) {
      const nk = Math.floor(k / 2);
      const into = next.get(nk);
      if (into === undefined) next.set(nk, b);
      else for (let i = 0; i < b.length; i++) into[i]! += b[i]!;
    }
    this.buckets = next;
    this.width *= 2;
    this.lo = this.lo === Infinity ? Infinity : Math.floor(this.lo / 2);
    this.hi = this.hi === -Infinity ? -Infinity : Math.floor(this.hi / 2);
  }
}
