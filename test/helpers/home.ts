// A fresh temporary directory per test, removed when the test ends, so tests run
// concurrently without sharing state. It is searchable by everyone (0755, where mkdtemp
// makes 0700): a `qmta start` run as root drops to the qmta account, which must reach
// the home made inside it (the daemon refuses to start otherwise).

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { ensureAccount } from '../../ts/privilege/account.js';

/** A new empty directory that lives as long as the test `t`. */
export function tempDir(t: ExecutionContext, prefix = 'qmta-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The ids `qmta user add` gives a user by default: the qmta account's as root (made
 *  when missing, as `qmta start` would), else ours. */
export async function defaultOwner(): Promise<{ uid: number; gid: number }> {
  if (process.getuid!() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const a = await ensureAccount('qmta', '/nonexistent');
  if (a.kind !== 'ok') throw new Error(a.text);
  return { uid: a.value.account.uid, gid: a.value.account.gid };
}
