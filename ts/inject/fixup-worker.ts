// The tinypool task that runs qmail-inject's header fixup off the main thread.
// Interface: default export (input: FixupInput) -> Outcome<FixupResult>; see fixup.ts.
// Constraint shared with pool.ts: this file's compiled name is fixup-worker.js, next to pool.js.

import { fixupHeader, type FixupInput, type FixupResult } from './fixup.js';
import type { Outcome } from '../outcome.js';

export default function runFixup(input: FixupInput): Outcome<FixupResult> {
  return fixupHeader(input);
}
