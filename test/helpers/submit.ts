// What the local submission tests share (test/e2e/submit.test.ts, mailq.test.ts): the
// commands, the local user (the useradd account as root, else ourselves), running a
// command as that user, and a `qmta start` on a fresh home with a virtual user joe.

import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser } from '../../ts/users/index.js';
import { systemAccount } from './accounts.js';
import { tempDir } from './home.js';
import { until } from './wait.js';

export const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
export const SENDMAIL = fileURLToPath(new URL('../../ts/cli/sendmail.js', import.meta.url));
export const MAILQ = fileURLToPath(new URL('../../ts/cli/mailq.js', import.meta.url));
export const ROOT = process.getuid!() === 0;

/** The local user of these tests: the useradd account as root, else ourselves. */
export function localUser(): { uid: number; gid: number; name: string } {
  if (!ROOT) return { uid: process.getuid!(), gid: process.getgid!(), name: userInfo().username };
  const a = systemAccount();
  return { uid: a.uid, gid: a.gid, name: a.name };
}

export interface Run { code: number | null; stdout: string; stderr: string; pid: number }

/** Runs node `cmd` with `args`, `input` on stdin, as `as` when given. */
export function run(cmd: string, args: string[], input: string, env: Record<string, string>, as?: { uid: number; gid: number }): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cmd, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, ...(as ?? {}) });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    c.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    c.on('close', (code) => resolve({ code, stdout, stderr, pid: c.pid! }));
    c.stdin.end(input);
  });
}

/** `qmta start` on a new home (me and locals mx.example, `control` on top), once its socket is there. */
export async function startDaemon(t: ExecutionContext, control: Record<string, string> = {}): Promise<{ home: string; log: () => string; child: ChildProcess }> {
  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  const files = { me: 'mx.example', locals: 'mx.example', smtplisten: '127.0.0.1:0', submissionlisten: '127.0.0.1:0', pop3listen: '127.0.0.1:0', ...control };
  for (const [f, v] of Object.entries(files)) writeFileSync(join(home, 'control', f), `${v}\n`);
  t.is((await addUser(home, 'joe')).kind, 'ok');
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await until('the submission socket', () => existsSync(join(home, 'qmta.sock')), 60_000);
  const log = () => readFileSync(join(home, 'log', 'qmta.log'), 'utf8');
  return { home, log, child };
}
