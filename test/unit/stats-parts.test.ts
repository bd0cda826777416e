// The bounded pieces of `qmta stats`: TopN's exactness and error bound, the histogram's
// percentile precision, the series' bounded width, the progress bar's TTY-only output.

import test from 'ava';
import fc from 'fast-check';
import { Histogram } from '../../ts/stats/histogram.js';
import { createProgress } from '../../ts/stats/progress.js';
import { Series } from '../../ts/stats/series.js';
import { TopN } from '../../ts/stats/topn.js';

test('TopN is exact under its capacity; past it, each row is low by at most maxError and heavy keys stay', (t) => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 3000 }), (keys) => {
    const top = new TopN(40, () => ({ n: 0 }), (r) => r.n);
    const truth = new Map<number, number>();
    for (const k of keys) {
      top.row(String(k)).n++;
      truth.set(k, (truth.get(k) ?? 0) + 1);
    }
    if (truth.size <= 40) {
      if (!top.exact) return false;
      return top.top(100).every((r) => r.row.n === truth.get(Number(r.key)));
    }
    const kept = new Map(top.top(1000).map((r) => [Number(r.key), r.row.n]));
    for (const [k, n] of truth) {
      const got = kept.get(k);
      if (got !== undefined && (got > n || got < n - top.maxError)) return false;
      if (got === undefined && n > top.maxError) return false;
    }
    return true;
  }));
  t.pass();
});

test('histogram percentiles are within 1.6% of the exact ones; count, sum, min, max exact', (t) => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 500 }), fc.integer({ min: 1, max: 100 }), (xs, p) => {
    const h = new Histogram();
    for (const x of xs) h.add(x);
    const sorted = [...xs].sort((a, b) => a - b);
    const exact = sorted[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
    const got = h.percentile(p);
    return Math.abs(got - exact) <= exact / 64 + 0.5 && h.count === xs.length && h.min === sorted[0] && h.max === sorted.at(-1)
      && h.sum === xs.reduce((a, b) => a + b, 0);
  }));
  t.pass();
});

test('a series over a year keeps at most 1,440 points and loses no count', (t) => {
  const s = new Series(['a']);
  const year = 365 * 86_400_000;
  for (let i = 0; i < 10_000; i++) s.add(T(i * (year / 10_000)), 0);
  const pts = s.points();
  t.true(pts.length <= 1440, `${pts.length} points`);
  t.is(pts.reduce((a, p) => a + p.counts.a!, 0), 10_000);
  function T(x: number) { return 1_700_000_000_000 + x; }
});

test('the progress bar draws only on a terminal, only after a second, and erases itself', (t) => {
  const out: string[] = [];
  const fake = { isTTY: true, columns: 80, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
  let now = 0;
  const p = createProgress(1000, fake, () => now);
  p.add(100);
  t.is(out.length, 0, 'nothing in the first second');
  now = 1500;
  p.add(400);
  t.regex(out.at(-1)!, /\[#+\.+\]\s+50%/);
  p.done();
  t.is(out.at(-1), '\r\x1b[K');
  const piped: string[] = [];
  const q = createProgress(1000, { isTTY: false, write: (s: string) => piped.push(s) } as unknown as NodeJS.WriteStream, () => now);
  now = 5000;
  q.add(1000);
  q.done();
  t.deepEqual(piped, []);
});
