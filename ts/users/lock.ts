// A lock file serialising the read-modify-write of users/ files by concurrent `qmta user`
// commands (two admins adding users at once must not lose one of them).
//
// Interface: withUsersLock(home, fn) -> Promise<Outcome<T>>: runs fn while holding
// HOME/users/.lock (created O_EXCL). A lock older than STALE_MS is from a dead command and
// is taken over. Readers (the daemon) never lock: writes are atomic renames.
// Failures: the lock stays held by another live command for WAIT_MS -> temp 4.3.0.

import { open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { temp, type Outcome } from '../outcome.js';

const WAIT_MS = 10_000;
const STALE_MS = 60_000;

/** Runs `fn` holding the users/ lock. */
export async function withUsersLock<T>(home: string, fn: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
  const path = join(home, 'users', '.lock');
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await (await open(path, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        return temp('4.3.0', `unable to lock users/: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      if (await isStale(path)) await unlink(path).catch(() => undefined);
      else if (Date.now() > deadline) return temp('4.3.0', 'users/ is locked by another qmta user command');
      else await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function isStale(path: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}
