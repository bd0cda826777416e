// Creating a missing (or partial) qmta home with working defaults (DESIGN.md "The home
// directory"): what `qmta start` and the user commands do before anything else.
//
// Interface: ensureHome(home) -> Promise<Outcome<string[]>> (the paths it created).
// Creates what is missing and never touches what exists: control/me (this host's name),
// control/locals and control/rcpthosts (localhost and the host name), users/, queue/, log/,
// mail/, the alias user's home alias/ with Maildir/ and .qmail-postmaster,
// .qmail-mailer-daemon, .qmail-root each holding `./Maildir/` (qmail's INSTALL.alias).
// Failures: any I/O error -> temp 4.3.0 naming the path (creation stops there; running it
// again finishes the job). Directories are 0700 or 0755, never group/world-writable, so
// qmail-local's home checks pass.

import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';

interface Item {
  readonly path: string;
  /** undefined for a directory. */
  readonly text?: string;
  readonly mode: number;
}

function layout(home: string): Item[] {
  const host = hostname().toLowerCase();
  const domains = [...new Set(['localhost', host])].join('\n') + '\n';
  const dirs: Array<[string, number]> = [
    ['', 0o755], ['control', 0o755], ['users', 0o700], ['queue', 0o700], ['log', 0o700], ['mail', 0o755],
    ['alias', 0o700], ['alias/Maildir', 0o700], ['alias/Maildir/cur', 0o700], ['alias/Maildir/new', 0o700],
    ['alias/Maildir/tmp', 0o700],
  ];
  const files: Array<[string, string]> = [
    ['control/me', `${hostname()}\n`], ['control/locals', domains], ['control/rcpthosts', domains],
    ['alias/.qmail-postmaster', './Maildir/\n'], ['alias/.qmail-mailer-daemon', './Maildir/\n'],
    ['alias/.qmail-root', './Maildir/\n'],
  ];
  return [
    ...dirs.map(([p, mode]) => ({ path: join(home, p), mode })),
    ...files.map(([p, text]) => ({ path: join(home, p), text, mode: 0o644 })),
  ];
}

/** Creates whatever part of the default home is missing; returns what it created. */
export async function ensureHome(home: string): Promise<Outcome<string[]>> {
  const created: string[] = [];
  for (const item of layout(home)) {
    try {
      if (await createItem(item)) created.push(item.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return temp('4.3.0', `unable to create ${item.path}: ${code}`);
    }
  }
  return ok(created);
}

async function createItem(item: Item): Promise<boolean> {
  try {
    if (item.text === undefined) await mkdir(item.path, { mode: item.mode });
    else await writeFile(item.path, item.text, { flag: 'wx', mode: item.mode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
