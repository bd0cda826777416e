// The queue's shape: for one channel (or both), each preprocessed message's age and the
// domains it still has pending recipients for, counted into Postfix qshape's table (rows =
// domains, columns = geometric age buckets). Used by `qmta qshape`, the metrics' queue
// gauges and the status page.
//
// Interface: census(queue, opts) -> Shape (synchronous: the CLI); censusAsync(queue, opts)
// -> Promise<Shape> (yields to the event loop every CHUNK messages: the daemon).
// Counting: a message counts once in the row of each domain it has a pending recipient for
// on the channel, and once in TOTAL; with `bySender`, once in its sender's domain's row.
// Messages only in todo/ (not preprocessed yet) are counted apart (`todo`), as qmail-qread.
// Failures: an entry that disappears or cannot be read while counted is skipped (the queue
// changes under a running qmta).

import { isFailure } from '../outcome.js';
import type { Channel, Queue } from '../queue/types.js';

const CHUNK = 500;

export interface ShapeOptions {
  /** 'local', 'remote' or both. */
  readonly channels: readonly Channel[];
  /** Upper edges of the age buckets, minutes, ascending; a last column holds the older ones. */
  readonly edgesMin: readonly number[];
  readonly bySender?: boolean;
  readonly now?: number;
}

export interface Shape {
  readonly edgesMin: readonly number[];
  /** Counts per bucket (edges.length + 1 columns) for every message with pending recipients. */
  readonly total: number[];
  readonly rows: Map<string, number[]>;
  /** Pending recipients per channel. */
  readonly pending: Record<Channel, number>;
  readonly todo: number;
  /** Birth of the oldest counted message (ms), or undefined for an empty queue. */
  readonly oldest: number | undefined;
}

/** Geometric edges: first, 2 first, 4 first... (Postfix qshape's -t and -b). */
export function geometricEdges(firstMin: number, buckets: number): number[] {
  return Array.from({ length: buckets }, (_, i) => firstMin * 2 ** i);
}

function* steps(queue: Queue, o: ShapeOptions, shape: { -readonly [K in keyof Shape]: Shape[K] }): Generator<void> {
  const now = o.now ?? Date.now();
  const ids = queue.listQueued();
  for (let i = 0; i < ids.length; i++) {
    if (i > 0 && i % CHUNK === 0) yield;
    const info = queue.info(ids[i]!);
    if (isFailure(info)) continue;
    const domains = new Set<string>();
    for (const ch of o.channels) {
      const rs = queue.recipients(ids[i]!, ch);
      if (isFailure(rs)) continue;
      for (const r of rs.value) {
        if (r.done) continue;
        shape.pending[ch]++;
        domains.add(domainOf(r.address));
      }
    }
    if (domains.size === 0) continue;
    const col = bucketOf((now - info.value.birth) / 60_000, o.edgesMin);
    shape.total[col]!++;
    shape.oldest = Math.min(shape.oldest ?? Infinity, info.value.birth);
    for (const d of o.bySender ? [domainOf(info.value.sender)] : domains) {
      let row = shape.rows.get(d);
      if (row === undefined) shape.rows.set(d, row = new Array<number>(o.edgesMin.length + 1).fill(0));
      row[col]!++;
    }
  }
}

function empty(queue: Queue, o: ShapeOptions): Shape {
  return {
    edgesMin: o.edgesMin, total: new Array<number>(o.edgesMin.length + 1).fill(0), rows: new Map(),
    pending: { local: 0, remote: 0 }, todo: queue.stats().todo, oldest: undefined,
  };
}

/** The shape, counted in one go. */
export function census(queue: Queue, o: ShapeOptions): Shape {
  const shape = empty(queue, o);
  for (const _ of steps(queue, o, shape));
  return shape;
}

/** The shape, counted in chunks between which other work runs. */
export async function censusAsync(queue: Queue, o: ShapeOptions): Promise<Shape> {
  const shape = empty(queue, o);
  for (const _ of steps(queue, o, shape)) await new Promise<void>((resolve) => setImmediate(resolve));
  return shape;
}

function bucketOf(ageMin: number, edges: readonly number[]): number {
  for (let i = 0; i < edges.length; i++) if (ageMin < edges[i]!) return i;
  return edges.length;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
