// Counts delivered messages in maildirs, the delivered() of bench/load-e2e.ts for any
// server that delivers to maildirs (qmta's mail/NAME/Maildir, the Postfix peer's).
//
// Interface: `countMaildir(dir)` -> files in <dir>/new and <dir>/cur; `maildirCounter(dirs)`
// -> a function summing them over every maildir.
// Failures: a maildir or subdirectory that does not exist yet counts 0 (the server creates
// it on first delivery); any other read error throws.
// Guarantees: only new/ and cur/ are counted, so a file still in tmp/ (written, not yet
// renamed into place: not delivered) is not. One readdir per subdirectory per call: cheap
// enough to poll every few tens of milliseconds at 20,000 messages.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Messages delivered to one maildir (new/ and cur/). */
export function countMaildir(dir: string): number {
  let n = 0;
  for (const sub of ['new', 'cur']) {
    try {
      n += readdirSync(join(dir, sub)).length;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return n;
}

/** A delivered() counter summing every maildir of `dirs`. */
export function maildirCounter(dirs: readonly string[]): () => number {
  return () => dirs.reduce((n, d) => n + countMaildir(d), 0);
}
