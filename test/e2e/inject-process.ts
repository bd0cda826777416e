// Shared by the inject and sendmail e2e tests: run a compiled command as a child process with
// a given stdin and a controlled environment.

import { spawn } from 'node:child_process';
import { finish, type Run } from '../helpers/child.js';

export type { Run };

/** Runs `node script args` with stdin and only the given environment (plus PATH). */
export function runNode(script: string, args: readonly string[], input: string | Buffer, env: Record<string, string>): Promise<Run> {
  return finish(spawn(process.execPath, [script, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } }), input);
}
