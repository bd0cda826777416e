// One flush at a time per maildir: two flushes of the same passive queue (cron plus an
// ETRN, or two ETRNs) would send every message twice.
//
// Interface: lockMaildir(maildir) -> Outcome<() => void> (call the function to unlock).
// The lock is the file MAILDIR/flush.lock made with O_EXCL and holding the flusher's
// pid; a lock whose pid no longer runs is stale and taken over (a killed flush).
// Failures: a live flush holds it -> temp 4.3.0 "already being flushed"; the file cannot
// be made -> temp 4.3.0 naming the errno.

import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';
import { ioFailure } from './envelope.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').slice(0, 20), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function lockMaildir(maildir: string): Outcome<() => void> {
  const path = join(maildir, 'flush.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return ok(() => rmSync(path, { force: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return ioFailure(err, `create ${path}`);
      const pid = holder(path);
      // An unreadable or empty lock may be one being written this instant: treat as live.
      if (pid === undefined || alive(pid)) return temp('4.3.0', `${maildir} is already being flushed (pid ${pid ?? '?'})`);
      rmSync(path, { force: true });
    }
  }
  return temp('4.3.0', `${maildir} is already being flushed`);
}
