// Running the program a delivery helper wraps (condredirect, bouncesaying, except, preline):
// execvp semantics (no shell), the message on stdin, stdout and stderr passed through.
//
// Interface: runChild(argv, stdin, io) -> ChildExit { code } | { crashed } | { execFailed: 'temp'|'perm' }.
// stdin is a file descriptor (the message file qmail-local hands us) or 'pipe' (the caller
// writes into child.stdin; see preline).
// Failures as qmail's helpers see them: a program that cannot be started -> execFailed,
// permanent for ENOENT/EACCES/ENOEXEC/ENOTDIR (error_temp() is false for those), temporary
// otherwise; a signal -> crashed.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export type ChildExit =
  | { readonly code: number }
  | { readonly crashed: string }
  | { readonly execFailed: 'temp' | 'perm'; readonly message: string };

export interface ChildIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const PERMANENT_EXEC = new Set(['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']);

/** Starts argv[0] with argv[1..]; `started` receives the child (to feed a piped stdin). */
export function runChild(argv: readonly string[], stdin: number | 'pipe', io: ChildIo, started?: (c: ChildProcess) => void): Promise<ChildExit> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...io.env }, stdio: [stdin, 'pipe', 'pipe'] });
    child.stdout?.pipe(io.stdout, { end: false });
    child.stderr?.pipe(io.stderr, { end: false });
    let done = false;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      const kind = PERMANENT_EXEC.has(err.code ?? '') ? 'perm' : 'temp';
      resolve({ execFailed: kind, message: err.message });
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      resolve(code === null ? { crashed: signal ?? 'unknown' } : { code });
    });
    started?.(child);
  });
}

/** The exit code qmail's fork/execvp/_exit(111 or 100) child would have produced. */
export function exitCodeOf(e: ChildExit): number | 'crashed' {
  if ('code' in e) return e.code;
  if ('crashed' in e) return 'crashed';
  return e.execFailed === 'temp' ? 111 : 100;
}
