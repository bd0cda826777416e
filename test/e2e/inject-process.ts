// Shared by the inject and sendmail e2e tests: run a compiled command as a child process with
// a given stdin and a controlled environment.

import { spawn } from 'node:child_process';

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `node script args` with stdin and only the given environment (plus PATH). */
export function runNode(script: string, args: readonly string[], input: string | Buffer, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
