// The filesystem view dot-qmail planning reads through, and its real implementation.
//
// Interface: DotQmailFs { stat(path), readFile(path) } (synchronous: the planner runs inside
// tinypool workers, which have no event loop to block); nodeDotQmailFs is node:fs behind it.
// Tests pass a map-backed fake.
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

export const nodeDotQmailFs: DotQmailFs = {
  stat(path) {
    try {
      // Most candidates are missing: no exception (and its stack trace) for those.
      const st = statSync(path, { throwIfNoEntry: false });
      if (st === undefined) return ok(undefined);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
      return ok({ type, mode: st.mode & 0o7777, size: st.size });
    } catch (err) {
      if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return ok(undefined);
      return cannotOpen(path, err);
    }
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
