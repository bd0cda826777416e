// A log-linear histogram of non-negative durations in milliseconds: bounded memory (1,728
// buckets) whatever the count, percentiles within 1/64 (1.6%) of the true value, exact
// count, sum, min and max.
//
// Interface: new Histogram(); add(ms); merge(other); percentile(p) (0..100); mean();
// cumulative(edgesMs) -> counts at or below each edge (charts).
// Values below 0 count as 0; above 2^31 ms (24.8 days) as 2^31 - 1.

const SUB = 64;
const MAX = 2 ** 31 - 1;
const SIZE = 27 * SUB;

/** The bucket of v: v itself below 128, else 64 sub-buckets per power of two. */
function index(v: number): number {
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(v) - 6;
  return (shift + 1) * SUB + ((v >>> shift) - SUB);
}

/** The smallest value of bucket i. */
function lowest(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = Math.floor(i / SUB) - 1;
  return ((i % SUB) + SUB) * 2 ** shift;
}

export class Histogram {
  readonly counts = new Float64Array(SIZE);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  add(ms: number): void {
    const v = Math.min(MAX, Math.max(0, Math.round(ms)));
    this.counts[index(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** The value at percentile p: the middle of its bucket, within [min, max]. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= want) {
        const mid = (lowest(i) + lowest(i + 1) - 1) / 2;
        return Math.min(this.max, Math.max(this.min, i < 2 * SUB ? i : mid));
      }
    }
    return this.max;
  }

  /** Counts of values <= each edge (cumulative), for charts; edges ascending. */
  cumulative(edgesMs: readonly number[]): number[] {
    const out: number[] = [];
    let i = 0;
    let seen = 0;
    for (const edge of edgesMs) {
      while (i < SIZE && lowest(i + 1) - 1 <= edge) seen += this.counts[i++]!;
      out.push(seen);
    }
    return out;
  }
}
