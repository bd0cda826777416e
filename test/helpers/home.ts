// A fresh temporary directory per test, removed when the test ends, so tests run
// concurrently without sharing state.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** A new empty directory that lives as long as the test `t`. */
export function tempDir(t: ExecutionContext, prefix = 'qmta-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
