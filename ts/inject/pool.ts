// A small worker pool for header fixups, so that a daemon or an embedding program never parses
// and rewrites headers on its event loop.
//
// Interface: createFixupPool({ threads }) -> FixupPool { run(input), destroy() }.
// Failures: a worker that throws or dies -> temp 4.3.0 (unknown means temporary).
// Guarantees: inputs and outputs are plain data (strings, arrays): nothing but the header
// section crosses to the worker; the body never leaves the main thread's stream.
// Constraint shared with fixup-worker.ts: the worker file is fixup-worker.js next to this one.

import Tinypool from 'tinypool';
import { fromException, type Outcome } from '../outcome.js';
import type { FixupInput, FixupResult } from './fixup.js';

export interface FixupPool {
  run(input: FixupInput): Promise<Outcome<FixupResult>>;
  destroy(): Promise<void>;
}

/** Starts the pool; threads default to 1 (fixups are short; the body I/O dominates). */
export function createFixupPool(opts: { readonly threads?: number } = {}): FixupPool {
  const threads = opts.threads ?? 1;
  const pool = new Tinypool({
    filename: new URL('./fixup-worker.js', import.meta.url).href,
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 30_000,
  });
  return {
    async run(input) {
      try {
        return (await pool.run(input)) as Outcome<FixupResult>;
      } catch (err) {
        return fromException(err);
      }
    },
    destroy: () => pool.destroy(),
  };
}
