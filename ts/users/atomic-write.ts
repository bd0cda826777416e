// Replacing a small file atomically: readers see the old content or the new, never a mix,
// and after a crash the file is one or the other.
//
// Interface: writeFileAtomic(path, data, mode) -> Promise<Outcome<void>>.
// Steps: write PATH.tmp.PID.RANDOM (O_EXCL), fsync, rename over PATH, fsync the directory.
// Run by root, the new file gets its folder's owner (users/ of a partitioned home belongs
// to the qmta account, which must keep reading it).
// Failures: any I/O error -> temp 4.3.0 naming the file (the temporary file is removed).

import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';

/** Writes `data` to `path` through a temporary file, fsync and rename. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<Outcome<void>> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      // Root editing a partitioned home (users/ belongs to the qmta account): the file
      // keeps its folder's owner, so the daemon can still read what root wrote.
      if (process.getuid?.() === 0) {
        const dir = await stat(dirname(path));
        await fh.chown(dir.uid, dir.gid);
      }
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dirname(path));
    return ok(undefined);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return temp('4.3.0', `unable to write ${path}: ${code}`);
  }
}

/** fsync of a directory makes a rename in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
