// The parent directory of one benchmark run's servers: fresh, and marked as the top of a
// directory hierarchy (chattr +T), so that ext4's Orlov allocator puts each server's home
// (a qmta home, a Postfix instance) in block groups of its own.
// Why: ext4 without a journal, as on this project's machines, skips every recently freed
// inode one at a time when it allocates one (fs/ext4/ialloc.c: recently_deleted, up to
// 6 minutes), and files are allocated in their directory's block group. A server whose
// home shares its groups with the files another measurement or the test suite just
// deleted pays for that history: at 10 connections qmta's fsync threads took 436-527 µs
// per message in a plain /tmp directory after earlier runs, and 237-240 µs here.
// Interface: `makeBenchRoot(parent?)` -> { path, spread, remove() }; spread is false when
// the flag could not be set (not ext4, no chattr): the run goes on, and its header says so.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchRoot {
  readonly path: string;
  /** True when the directory carries ext4's top-directory flag. */
  readonly spread: boolean;
  remove(): void;
}

export function makeBenchRoot(parent?: string): BenchRoot {
  const path = mkdtempSync(join(parent ?? tmpdir(), 'smtp-e2e-'));
  // qmta started as root runs as its own account, which must pass through (mkdtemp: 0700).
  chmodSync(path, 0o755);
  const spread = spawnSync('chattr', ['+T', path], { stdio: 'ignore' }).status === 0;
  return { path, spread, remove: () => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) };
}

/** The header line that says where the servers' homes were. */
export function rootLine(r: BenchRoot): string {
  return r.spread
    ? `server homes under ${r.path}, marked chattr +T: each in block groups of its own (bench/bench-root.ts)`
    : `server homes under ${r.path}; chattr +T failed there, so their block groups may hold earlier work's freed inodes (bench/bench-root.ts)`;
}
