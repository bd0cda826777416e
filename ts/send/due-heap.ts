// A binary min-heap of (time, message id, channel): the scheduler's record of every idle
// job, i.e. every deferred (message, channel) waiting for its retry time.
//
// Interface: push(time, id, channel), peekTime(), pop() -> {id, channel} | undefined,
// size, makeAllDue(now) (SIGALRM / `qmta queue run`).
// Guarantees: O(log n) push and pop, O(n) makeAllDue; per job only a number, a string
// (the id, shared with nothing else) and a byte live here: no objects or closures per
// idle message, so 100,000 deferred messages cost a few MB.

export type HeapChannel = 'local' | 'remote';

export class DueHeap {
  private times = new Float64Array(1024);
  private chans = new Uint8Array(1024);
  private ids: string[] = [];

  get size(): number {
    return this.ids.length;
  }

  /** Adds a job due at `time` (ms). */
  push(time: number, id: string, channel: HeapChannel): void {
    const n = this.ids.length;
    if (n === this.times.length) this.grow();
    this.ids.push(id);
    this.times[n] = time;
    this.chans[n] = channel === 'local' ? 0 : 1;
    this.siftUp(n);
  }

  /** The earliest due time, or undefined when empty. */
  peekTime(): number | undefined {
    return this.ids.length === 0 ? undefined : this.times[0];
  }

  /** Removes and returns the earliest job. */
  pop(): { id: string; channel: HeapChannel; time: number } | undefined {
    const n = this.ids.length;
    if (n === 0) return undefined;
    const top = { id: this.ids[0]!, channel: this.chans[0] === 0 ? 'local' as const : 'remote' as const, time: this.times[0]! };
    const lastId = this.ids.pop()!;
    if (n > 1) {
      this.ids[0] = lastId;
      this.times[0] = this.times[n - 1]!;
      this.chans[0] = this.chans[n - 1]!;
      this.siftDown(0);
    }
    return top;
  }

  /** Every job becomes due at `now`, keeping their relative order (qmail's ALRM). */
  makeAllDue(now: number): void {
    // Times become equal: any array is then a valid heap; order among equals does not matter.
    this.times.fill(now, 0, this.ids.length);
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    const chans = new Uint8Array(this.chans.length * 2);
    chans.set(this.chans);
    this.times = times;
    this.chans = chans;
  }

  private swap(a: number, b: number): void {
    const t = this.times[a]!; this.times[a] = this.times[b]!; this.times[b] = t;
    const c = this.chans[a]!; this.chans[a] = this.chans[b]!; this.chans[b] = c;
    const i = this.ids[a]!; this.ids[a] = this.ids[b]!; this.ids[b] = i;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= this.times[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.ids.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.times[l]! < this.times[m]!) m = l;
      if (r < n && this.times[r]! < this.times[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
