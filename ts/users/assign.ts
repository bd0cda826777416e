// users/assign in qmail-users format, and qmail-lspawn's lookup of a local part in it.
//
// Interface:
//   parseAssign(text) -> Outcome<AssignTable>; formatAssign(entries) -> text (with the final ".")
//   loadAssign(home) -> Promise<Outcome<AssignTable>> (missing file = empty table)
//   lookupUser(table, local, fallback) -> Assignment {user, uid, gid, home, dash, ext}
// Format: `=local:user:uid:gid:homedir:dash:ext:` (exact, case-insensitive) and
// `+prefix:user:uid:gid:homedir:dash:pre:` (every local part beginning with prefix; the rest
// is appended to pre), ended by a line holding a single ".". Lookup: the first = line for
// the local part, else the longest + prefix (first line wins among equal prefixes), else
// qmta's rule in place of qmail-getpw: the alias user (home HOME/alias, dash "-", ext = the
// whole local part), exactly as qmail falls through to ~alias.
// Failures: a malformed line, a NUL, or no final "." (qmail-newu refuses those) -> temp 4.3.5
// naming the line; unreadable file -> temp 4.3.0; file over MAX_ASSIGN_BYTES -> temp 4.3.5.

import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { splitLines } from '../config/read.js';
import { ok, temp, type Outcome } from '../outcome.js';

export const MAX_ASSIGN_BYTES = 16 * 1024 * 1024;

/** What qmail-lspawn hands qmail-local: whose delivery, and which .qmail to read. */
export interface Assignment {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly dash: string;
  readonly ext: string;
}

export interface AssignEntry extends Assignment {
  /** '=' exact local part, '+' prefix. */
  readonly kind: '=' | '+';
  /** The local part or prefix, as written (matched case-insensitively). */
  readonly local: string;
}

export interface AssignTable {
  readonly entries: readonly AssignEntry[];
  readonly exact: ReadonlyMap<string, AssignEntry>;
  readonly wild: ReadonlyMap<string, AssignEntry>;
}

/** Parses users/assign text. */
export function parseAssign(text: string): Outcome<AssignTable> {
  if (text.includes('\0')) return temp('4.3.5', 'users/assign contains a NUL byte');
  const lines = splitLines(text);
  const entries: AssignEntry[] = [];
  for (const [i, line] of lines.entries()) {
    if (line === '.') return ok(tableOf(entries));
    const e = parseLine(line);
    if (e === undefined) return temp('4.3.5', `users/assign line ${i + 1}: not =local:user:uid:gid:home:dash:ext:`);
    entries.push(e);
  }
  return temp('4.3.5', 'users/assign has no final "." line (truncated?)');
}

function parseLine(line: string): AssignEntry | undefined {
  const kind = line[0];
  if (kind !== '=' && kind !== '+') return undefined;
  const f = line.slice(1).split(':');
  if (f.length !== 8 || f[7] !== '') return undefined;
  const [local, user, uid, gid, home, dash, ext] = f as [string, string, string, string, string, string, string];
  if (user === '' || !/^\d{1,10}$/.test(uid) || !/^\d{1,10}$/.test(gid) || !isAbsolute(home)) return undefined;
  return { kind, local, user, uid: Number(uid), gid: Number(gid), home, dash, ext };
}

/** Builds the lookup maps; the first line for a key wins, as with qmail-newu's cdb. */
export function tableOf(entries: readonly AssignEntry[]): AssignTable {
  const exact = new Map<string, AssignEntry>();
  const wild = new Map<string, AssignEntry>();
  for (const e of entries) {
    const map = e.kind === '=' ? exact : wild;
    const key = e.local.toLowerCase();
    if (!map.has(key)) map.set(key, e);
  }
  return { entries, exact, wild };
}

/** Prints entries in users/assign format, ending with the "." line. */
export function formatAssign(entries: readonly AssignEntry[]): string {
  const lines = entries.map((e) => `${e.kind}${e.local}:${e.user}:${e.uid}:${e.gid}:${e.home}:${e.dash}:${e.ext}:`);
  return [...lines, '.', ''].join('\n');
}

/** Reads HOME/users/assign; a missing file is an empty table. */
export async function loadAssign(home: string): Promise<Outcome<AssignTable>> {
  const path = join(home, 'users', 'assign');
  try {
    if ((await stat(path)).size > MAX_ASSIGN_BYTES) return temp('4.3.5', 'users/assign is too large');
    return parseAssign(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return ok(tableOf([]));
    return temp('4.3.0', `unable to read users/assign: ${code ?? String(err)}`);
  }
}

/** The alias user's assignment for `local`: qmail's fall-through when nobody else matches. */
export interface AliasUser {
  readonly home: string;
  readonly uid: number;
  readonly gid: number;
}

/** qmail-lspawn's lookup: exact, then longest prefix, then the alias user. */
export function lookupUser(table: AssignTable, local: string, alias: AliasUser): Assignment {
  const lower = local.toLowerCase();
  const exact = table.exact.get(lower);
  if (exact) return assignment(exact, exact.ext);
  for (let i = lower.length; i >= 0; i--) {
    const w = table.wild.get(lower.slice(0, i));
    // The rest keeps the address's case: qmail-lspawn appends from the original local part.
    if (w) return assignment(w, w.ext + local.slice(i));
  }
  return { user: 'alias', uid: alias.uid, gid: alias.gid, home: alias.home, dash: '-', ext: local };
}

function assignment(e: AssignEntry, ext: string): Assignment {
  return { user: e.user, uid: e.uid, gid: e.gid, home: e.home, dash: e.dash, ext };
}
