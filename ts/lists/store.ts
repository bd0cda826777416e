// A mailing list's state on disk, next to the .qmail files that route its addresses:
// DIR/lists/NAME/ holds config.json, subscribers (one address a line), pending/ (single-use
// confirmation tokens) and bounces/ (per-subscriber bounce times).
//
// Interface: listState(dir, name); readConfig, writeConfig; readSubscribers;
// changeSubscribers(state, change) under the list lock; normalizeAddress(a).
// Failures: a missing list -> perm 5.1.1; a damaged config -> temp 4.3.5; I/O -> temp 4.3.0;
// the lock not obtained within 10 s -> temp 4.3.0.
// Guarantees: the subscriber file is replaced atomically (fsync + rename), under an exclusive
// lock, so concurrent confirmations never lose an update; addresses are bounded (320 bytes).

import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, perm, temp, type Outcome } from '../outcome.js';
import { writeFileAtomic } from '../users/atomic-write.js';

export interface ListConfig {
  /** The list's name: the extension of its .qmail files (.qmail-NAME, .qmail-NAME-default ...). */
  readonly name: string;
  /** The posting address, local@host; the other addresses are local-<suffix>@host. */
  readonly address: string;
  /** The owner's address (mail to local-owner@host goes there). */
  readonly owner: string;
  /** Bounces within bounceDays after which a subscriber is removed. */
  readonly bounceLimit: number;
  readonly bounceDays: number;
  /** RFC 8058: the HTTPS address one-click unsubscriptions are posted to (one-click.ts). */
  readonly oneClickUrl?: string;
  /** Hex key of the one-click tokens (set with oneClickUrl). */
  readonly secret?: string;
}

export interface ListState {
  readonly name: string;
  /** The owner's home directory, where the .qmail files are. */
  readonly dir: string;
  /** DIR/lists/NAME. */
  readonly root: string;
}

export const MAX_ADDRESS = 320;
const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 60_000;

/** Where list NAME of the home directory DIR keeps its state. */
export function listState(dir: string, name: string): ListState {
  return { name, dir, root: join(dir, 'lists', name) };
}

/** An address as stored: trimmed, domain lower-cased; undefined when it is not a plain address. */
export function normalizeAddress(a: string): string | undefined {
  const s = a.trim();
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1 || s.length > MAX_ADDRESS || /[\s<>(),;\\"\x00-\x1f\x7f]/.test(s)) return undefined;
  return s.slice(0, at) + '@' + s.slice(at + 1).toLowerCase();
}

function ioFailure(what: string, err: unknown): Outcome<never> {
  return temp('4.3.0', `unable to ${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
}

/** The list's configuration. */
export async function readConfig(s: ListState): Promise<Outcome<ListConfig>> {
  let text: string;
  try {
    text = await readFile(join(s.root, 'config.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return perm('5.1.1', `no such list: ${s.name}`);
    return ioFailure(`read the configuration of ${s.name}`, err);
  }
  try {
    return ok(JSON.parse(text) as ListConfig);
  } catch {
    return temp('4.3.5', `damaged configuration of list ${s.name}`);
  }
}

/** Creates the state folders and writes the configuration. */
export async function writeConfig(s: ListState, c: ListConfig): Promise<Outcome<void>> {
  try {
    await mkdir(join(s.root, 'pending'), { recursive: true, mode: 0o700 });
    await mkdir(join(s.root, 'bounces'), { recursive: true, mode: 0o700 });
  } catch (err) {
    return ioFailure(`create ${s.root}`, err);
  }
  return writeFileAtomic(join(s.root, 'config.json'), JSON.stringify(c, null, 2) + '\n', 0o600);
}

/** The current subscribers (empty when the file does not exist yet). */
export async function readSubscribers(s: ListState): Promise<Outcome<string[]>> {
  try {
    const text = await readFile(join(s.root, 'subscribers'), 'utf8');
    return ok(text.split('\n').filter((l) => l !== ''));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ok([]);
    return ioFailure(`read the subscribers of ${s.name}`, err);
  }
}

async function lock(s: ListState): Promise<Outcome<() => Promise<void>>> {
  const path = join(s.root, 'lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.close();
      return ok(() => unlink(path).catch(() => undefined));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return ioFailure(`lock ${s.name}`, err);
    }
    const age = await stat(path).then((st) => Date.now() - st.mtimeMs, () => 0);
    if (age > LOCK_STALE_MS) await unlink(path).catch(() => undefined);
    if (Date.now() > deadline) return temp('4.3.0', `list ${s.name} is locked`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Applies change to the subscriber list under the lock; returns the new list. */
export async function changeSubscribers(s: ListState, change: (current: readonly string[]) => string[]): Promise<Outcome<string[]>> {
  const unlock = await lock(s);
  if (unlock.kind !== 'ok') return unlock;
  try {
    const cur = await readSubscribers(s);
    if (cur.kind !== 'ok') return cur;
    const next = change(cur.value);
    const w = await writeFileAtomic(join(s.root, 'subscribers'), next.map((a) => `${a}\n`).join(''), 0o600);
    return w.kind === 'ok' ? ok(next) : w;
  } finally {
    await unlock.value();
  }
}
