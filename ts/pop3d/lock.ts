// The IN-USE lock: one POP3 session per maildir, across every qmta process and every
// machine that shares the mail store.
//
// Interface: lockMaildir(maildir, staleMs) -> Outcome<MaildirLock | 'in-use'>;
// lock.release(). The lock is the file `<maildir>/qmta-pop3.lock`, created with O_EXCL
// (atomic on local filesystems, NFSv3+ and CephFS) and holding "host pid token\n".
// The holder refreshes its mtime every staleMs/3 while the session lives.
// Staleness: a lock is stale when its mtime is older than staleMs (holder died without
// cleaning up, on any machine), or at once when it names this host and a pid that is
// not running. A stale lock is broken by renaming it to a unique name (atomic) and
// checking that the renamed file is the one judged stale; if a fresh lock was taken
// instead, it is linked back and the session is refused.
// Failures: any I/O error other than EEXIST -> temp 4.3.0 (the client sees -ERR [SYS/TEMP]).
// The name has no leading dot so Maildir++ readers never take it for a folder, and it
// sits outside tmp/, new/ and cur/ so no maildir reader or writer ever looks at it.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';

export const LOCK_NAME = 'qmta-pop3.lock';

export interface MaildirLock {
  release(): Promise<void>;
}

/** Takes the maildir's POP3 lock, or reports that another session holds it. */
export async function lockMaildir(maildir: string, staleMs: number): Promise<Outcome<MaildirLock | 'in-use'>> {
  const path = join(maildir, LOCK_NAME);
  const content = `${hostname()} ${process.pid} ${randomBytes(8).toString('hex')}\n`;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await create(path, content)) return ok(hold(path, content, staleMs));
      if (!(await breakIfStale(path, staleMs))) return ok('in-use');
    }
    return ok('in-use');
  } catch (err) {
    return temp('4.3.0', `mailbox lock ${path}: ${(err as Error).message}`);
  }
}

async function create(path: string, content: string): Promise<boolean> {
  try {
    const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** True when the lock at `path` was stale and is gone now. */
async function breakIfStale(path: string, staleMs: number): Promise<boolean> {
  const seen = await readLock(path);
  if (seen === undefined) return true; // released meanwhile
  if (!isStale(seen.content, seen.mtimeMs, staleMs)) return false;
  const aside = `${path}.stale.${randomBytes(8).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const moved = await readFile(aside, 'latin1');
  if (moved !== seen.content) {
    // We moved a lock taken after our look: give it back (fails if yet another exists).
    await link(aside, path).catch(() => undefined);
    await unlink(aside);
    return false;
  }
  await unlink(aside);
  return true;
}

async function readLock(path: string): Promise<{ content: string; mtimeMs: number } | undefined> {
  try {
    const [content, st] = await Promise.all([readFile(path, 'latin1'), stat(path)]);
    return { content, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isStale(content: string, mtimeMs: number, staleMs: number): boolean {
  if (Date.now() - mtimeMs > staleMs) return true;
  const [host, pidText] = content.split(' ');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function hold(path: string, content: string, staleMs: number): MaildirLock {
  const refresh = setInterval(() => {
    const now = new Date();
    void ownLock(path, content).then((mine) => (mine ? utimes(path, now, now) : undefined)).catch(() => undefined);
  }, Math.max(1000, Math.floor(staleMs / 3)));
  refresh.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      if (await ownLock(path, content).catch(() => false)) await unlink(path).catch(() => undefined);
    },
  };
}

async function ownLock(path: string, content: string): Promise<boolean> {
  const seen = await readLock(path);
  return seen?.content === content;
}
