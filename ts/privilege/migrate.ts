// Migration of a home made by an earlier qmta run as root: everything the daemon writes
// (the home folder itself, queue/, log/, users/, alias/, mail/ and the virtual users'
// homes in it) is given to the qmta account, and users/assign lines that gave uid 0 to a
// home inside HOME get the account's uid and gid (qmail-lspawn never delivers as root).
//
// Interface: migrateHome(home, account) -> Promise<Outcome<string[]>> (one log line per
// change; empty when the home was already the account's).
// Rules: only entries owned by root change owner, with lchown (a symlink is re-owned, not
// followed); the walk goes into folders owned by root or the account only, so a system
// account's home under mail/ is left alone; control/ stays root's (the admin's
// configuration, read-only to the daemon). A tree whose top already belongs to the
// account is not walked again, so a migrated home costs a few stats per start (a tree's
// top is re-owned last, after everything in it).
// Failures: I/O errors -> temp 4.3.0 naming the path (start again after fixing it).

import { lstat, lchown, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Account } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';
import { formatAssign, loadAssign, type AssignEntry } from '../users/assign.js';
import { writeFileAtomic } from '../users/atomic-write.js';

const TREES = ['queue', 'log', 'users', 'alias', 'mail'];

/** Re-owns a root-owned home for `account`; returns what it did. */
export async function migrateHome(home: string, account: Account): Promise<Outcome<string[]>> {
  const done: string[] = [];
  try {
    if ((await lstat(home)).uid === 0) {
      await lchown(home, account.uid, account.gid);
      done.push(`migrated ${home}: owner ${account.name}`);
    }
    for (const t of TREES) {
      const n = await reownTree(join(home, t), account);
      if (n > 0) done.push(`migrated ${home}/${t}: ${n} files and folders re-owned to ${account.name}`);
    }
    const assign = await migrateAssign(home, account);
    if (assign.kind !== 'ok') return assign;
    done.push(...assign.value);
    const mail = await reownVirtualHomes(home, account);
    done.push(...mail);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return temp('4.3.0', `cannot migrate ${e.path ?? home} to ${account.name}: ${e.code ?? e.message}`);
  }
  return ok(done);
}

/** Re-owns a tree whose top is root's; 0 when the top is missing or not root's. */
async function reownTree(top: string, account: Account): Promise<number> {
  const st = await lstat(top).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  if (!st || st.uid !== 0) return 0;
  return reown(top, account);
}

/** Children first, the folder last: a top that belongs to the account means the whole
 *  tree was done (a start killed half-way does the rest next time). */
async function reown(path: string, account: Account): Promise<number> {
  const st = await lstat(path);
  let n = 0;
  if (st.isDirectory() && (st.uid === 0 || st.uid === account.uid)) {
    for (const name of await readdir(path)) n += await reown(join(path, name), account);
  }
  if (st.uid === 0) {
    await lchown(path, account.uid, account.gid);
    n++;
  }
  return n;
}

/** users/assign lines with uid 0 and a home inside HOME become the account's. */
async function migrateAssign(home: string, account: Account): Promise<Outcome<string[]>> {
  const table = await loadAssign(home);
  if (table.kind !== 'ok') return table;
  const inside = (e: AssignEntry) => !relative(home, e.home).startsWith('..');
  const moved = table.value.entries.filter((e) => e.uid === 0 && inside(e));
  if (moved.length === 0) return ok([]);
  const entries = table.value.entries.map((e) => (moved.includes(e) ? { ...e, uid: account.uid, gid: account.gid } : e));
  const w = await writeFileAtomic(join(home, 'users', 'assign'), formatAssign(entries), 0o644);
  if (w.kind !== 'ok') return w;
  return ok([...new Set(moved.map((e) => e.user))].map((u) => `migrated users/assign: ${u} delivers as ${account.name} (uid ${account.uid}), not root`));
}

/** Virtual users' homes outside mail/ (user add --home-dir inside HOME) that root still owns. */
async function reownVirtualHomes(home: string, account: Account): Promise<string[]> {
  const table = await loadAssign(home);
  if (table.kind !== 'ok') return [];
  const done: string[] = [];
  for (const e of table.value.entries) {
    if (e.uid !== account.uid || relative(home, e.home).startsWith('..')) continue;
    const n = await reownTree(e.home, account);
    if (n > 0) done.push(`migrated ${e.home}: ${n} files and folders re-owned to ${account.name}`);
  }
  return done;
}
