// Program delivery (`|command` lines, qmail-command(8), qmail.md §5.5–5.7).
//
// Interface: runProgram(p) -> ProgramResult: /bin/sh -c command, cwd = the user's home,
// stdin = the queue's body file (from its start), stdout+stderr captured in arrival
// order (bounded, report.ts), the environment given by the caller (program-env.ts), run
// as uid/gid when given (qmta runs as root), killed after timeoutMs.
// Exit codes: 0 continue; 99 success and stop the following lines; 100 and sysexits 64,
// 65, 70, 76, 77, 78 and 112 permanent; every other code temporary; a signal temporary
// ("Aack, child crashed."); /bin/sh not runnable temporary; time limit temporary.
// Guarantees: the child's whole process group is killed at the time limit, so a program
// cannot hold a delivery slot forever; unknown means temporary.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { perm, temp, type Failure } from '../outcome.js';
import { OutputBuffer } from './report.js';

export interface ProgramRun {
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly bodyPath: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly timeoutMs: number;
}

export type ProgramResult =
  | { readonly kind: 'continue' | 'stop'; readonly output: string }
  | (Failure & { readonly output: string });

const PERMANENT = new Set([64, 65, 70, 76, 77, 78, 100, 112]);

/** Maps an exit status the way qmail-local maps qmail-command's. */
export function mapExit(code: number | null, signal: string | null, output: string): ProgramResult {
  if (code === null) return { ...temp('4.3.0', `${output}Aack, child crashed.`.trim()), output };
  if (code === 0) return { kind: 'continue', output };
  if (code === 99) return { kind: 'stop', output };
  const text = output.trim() === '' ? `program exited ${code}` : output.trimEnd();
  if (PERMANENT.has(code)) return { ...perm('5.3.0', text), output };
  return { ...temp('4.3.0', signal ? `${text} (signal ${signal})` : text), output };
}

/** Runs one program line; resolves when it has exited and its output is closed. */
export function runProgram(p: ProgramRun): Promise<ProgramResult> {
  return new Promise((resolve) => {
    let stdin: number;
    try {
      stdin = openSync(p.bodyPath, 'r');
    } catch (err) {
      return resolve({ ...temp('4.3.0', `Unable to read message: ${(err as Error).message}`), output: '' });
    }
    const out = new OutputBuffer();
    const child = spawn('/bin/sh', ['-c', p.command], {
      cwd: p.cwd, env: { ...p.env }, stdio: [stdin, 'pipe', 'pipe'], detached: true,
      ...(p.uid !== undefined ? { uid: p.uid } : {}), ...(p.gid !== undefined ? { gid: p.gid } : {}),
    });
    closeSync(stdin);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, p.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => out.push(c));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ...temp('4.3.0', `Unable to run /bin/sh: ${err.message}`), output: '' });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const output = out.text();
      if (timedOut) return resolve({ ...temp('4.3.0', `${output}Program timed out after ${p.timeoutMs / 1000} seconds.`.trim()), output });
      resolve(mapExit(code, signal, output));
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
