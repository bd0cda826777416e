// A child process run to its end: stdin written, stdout and stderr collected.
//
// Interface: finish(child, input) -> Promise<Run>. Rejects only when the process cannot be
// started; a non-zero exit is a value (code) for the test to assert.

import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Run { code: number | null; stdout: string; stderr: string }

/** Writes `input` to the child's stdin and resolves with its exit code and output. */
export function finish(child: ChildProcessWithoutNullStreams, input: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
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
