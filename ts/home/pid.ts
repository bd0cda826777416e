// The pid file HOME/qmta.pid: how user-changing commands find a running qmta to reload.
//
// Interface:
//   writePidFile(home) -> Promise<Outcome<void>>   at start; refuses when another live qmta holds it
//   readPidFile(home) -> Promise<number | undefined>
//   removePidFile(home) -> Promise<void>           at exit; only removes a file holding our pid
//   signalRunning(home, signal) -> Promise<boolean> true when a running qmta was signalled
// A pid is "a running qmta" when the process exists, we may signal it, and (where /proc
// exists) its command line is a node or qmta process: a stale file whose pid was reused by
// an unrelated program is never signalled.
// Failures: another qmta running on this home -> temp 4.3.0; I/O -> temp 4.3.0.

import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';
import { writeFileAtomic } from '../users/atomic-write.js';

function pidPath(home: string): string {
  return join(home, 'qmta.pid');
}

/** The pid recorded in HOME/qmta.pid, if the file exists and holds one. */
export async function readPidFile(home: string): Promise<number | undefined> {
  try {
    const m = /^(\d{1,10})\n?$/.exec(await readFile(pidPath(home), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function isRunningQmta(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.some((a) => /(^|\/)(node|qmta)[^/]*$/.test(a) || a.endsWith('/cli/main.js'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !(await hasProc());
  }
}

async function hasProc(): Promise<boolean> {
  try {
    await readFile('/proc/self/cmdline');
    return true;
  } catch {
    return false;
  }
}

/** Records this process as the qmta of `home`. */
export async function writePidFile(home: string): Promise<Outcome<void>> {
  const old = await readPidFile(home);
  if (old !== undefined && old !== process.pid && (await isRunningQmta(old))) {
    return temp('4.3.0', `qmta is already running for ${home} (pid ${old})`);
  }
  return writeFileAtomic(pidPath(home), `${process.pid}\n`, 0o644);
}

/** Removes the pid file if it is ours. */
export async function removePidFile(home: string): Promise<void> {
  if ((await readPidFile(home)) === process.pid) await unlink(pidPath(home)).catch(() => undefined);
}

/** Sends `signal` to the qmta running on `home`; false when none is running. */
export async function signalRunning(home: string, signal: NodeJS.Signals): Promise<boolean> {
  const pid = await readPidFile(home);
  if (pid === undefined || !(await isRunningQmta(pid))) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
