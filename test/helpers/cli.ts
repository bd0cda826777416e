// Runs the built `qmta` command as a child process, with pipes (never a terminal), for tests
// of what a user sees: exit code, stdout, stderr.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const QMTA_MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `qmta ARGS` with `input` on stdin (default none); QMTA_HOME unset. */
export async function runQmta(args: readonly string[], opts: { input?: string | Buffer } = {}): Promise<Run> {
  const child = spawn(process.execPath, [QMTA_MAIN, ...args], { env: { ...process.env, QMTA_HOME: undefined }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
