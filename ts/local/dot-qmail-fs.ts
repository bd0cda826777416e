// The filesystem view dot-qmail planning reads through, and its real implementation.
//
// Interface: DotQmailFs { stat(path), readFile(path) } (synchronous: the planner runs inside
// tinypool workers, which have no event loop to block); nodeDotQmailFs is node:fs behind it.
// guardedDotQmailFs() is the same, and notes each path stat'ed with its signature: the SMTP
// core answers the recipient again itself while those paths stat the same
// (crates/smtp-server rcpt_cache.rs). Tests pass a map-backed fake.
// Failures (as qmail-local's qmeexists): ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG mean "missing"
// (stat -> undefined); any other error (EACCES, EPERM, EIO...) -> temp 4.3.0
// "Unable to open PATH: CODE."; a .qmail file over MAX_DOT_QMAIL_BYTES -> temp 4.3.0.
// stat follows symlinks, as open+fstat and stat do in qmail-local.

import { readFileSync, statSync } from 'node:fs';
import { ok, temp, type Outcome } from '../outcome.js';

export const MAX_DOT_QMAIL_BYTES = 1024 * 1024;

export interface FileInfo {
  readonly type: 'file' | 'dir' | 'other';
  /** st_mode permission bits (including setuid/setgid/sticky). */
  readonly mode: number;
  readonly size: number;
}

export interface DotQmailFs {
  /** undefined when the path does not exist. */
  stat(path: string): Outcome<FileInfo | undefined>;
  readFile(path: string): Outcome<string>;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']);

function cannotOpen(path: string, err: unknown): Outcome<never> {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return temp('4.3.0', `Unable to open ${path}: ${code}.`);
}

/** A path the planner stat'ed: "dev:ino:mode:size:mtimeNs:ctimeNs", or "" when missing. */
export interface Guard {
  readonly path: string;
  readonly seen: string;
}

/** stat(2) of `path` (symlinks followed), with its signature. */
function statSigned(path: string): Outcome<{ info: FileInfo | undefined; seen: string; ctimeNs: bigint }> {
  try {
    // Most candidates are missing: no exception (and its stack trace) for those.
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return ok({ info: undefined, seen: '', ctimeNs: 0n });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    const seen = `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    return ok({ info: { type, mode: Number(st.mode & 0o7777n), size: Number(st.size) }, seen, ctimeNs: st.ctimeNs });
  } catch (err) {
    if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return ok({ info: undefined, seen: '', ctimeNs: 0n });
    return cannotOpen(path, err);
  }
}

/** How long after a change another could leave the same signature: the timestamps'
 *  granularity (git's "racy" files). A ctime with a sub-second part is from a filesystem
 *  keeping nanoseconds, stamped from a clock that ticks at least every 10 ms (a jiffy at
 *  HZ=100); one without may be from a filesystem keeping whole seconds (FAT: two). */
const SETTLE_NS = 100_000_000n;
const WHOLE_SECONDS_SETTLE_NS = 2_000_000_000n;

/** A path changed at `ctimeNs` is still racy at `nowNs` (0n: a missing path, never). */
export function racy(ctimeNs: bigint, nowNs: bigint): boolean {
  return ctimeNs > nowNs - (ctimeNs % 1_000_000_000n === 0n ? WHOLE_SECONDS_SETTLE_NS : SETTLE_NS);
}

/** node:fs, noting every path stat'ed; `guards()` is undefined when one failed or is racy. */
export function guardedDotQmailFs(): { readonly fs: DotQmailFs; guards(): readonly Guard[] | undefined } {
  const seen: Guard[] = [];
  let settled = true;
  const now = BigInt(Date.now()) * 1_000_000n;
  const fs: DotQmailFs = {
    stat(path) {
      const s = statSigned(path);
      if (s.kind !== 'ok') {
        settled = false;
        return s;
      }
      if (racy(s.value.ctimeNs, now)) settled = false;
      seen.push({ path, seen: s.value.seen });
      return ok(s.value.info);
    },
    readFile: (path) => nodeDotQmailFs.readFile(path),
  };
  return { fs, guards: () => (settled ? seen : undefined) };
}

export const nodeDotQmailFs: DotQmailFs = {
  stat(path) {
    const s = statSigned(path);
    return s.kind === 'ok' ? ok(s.value.info) : s;
  },
  readFile(path) {
    try {
      const buf = readFileSync(path);
      if (buf.length > MAX_DOT_QMAIL_BYTES) return temp('4.3.0', `${path} is larger than ${MAX_DOT_QMAIL_BYTES} bytes.`);
      return ok(buf.toString('utf8'));
    } catch (err) {
      return cannotOpen(path, err);
    }
  },
};
