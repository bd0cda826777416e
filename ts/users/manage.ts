// Maintaining users/: what `qmta user add|del|list|passwd` do.
//
// Interface:
//   addUser(home, name, {homeDir?, uid?, gid?}) -> Promise<Outcome<UserInfo>>
//   delUser(home, name) -> Promise<Outcome<void>>     (the mail directory is kept)
//   listUsers(home) -> Promise<Outcome<UserInfo[]>>
//   setPassword(home, name, password, {apop?}) -> Promise<Outcome<void>>
// addUser writes qmail-pw2u's pair of lines, `=name:name:uid:gid:home:::` and
// `+name-:name:uid:gid:home:-::`, so name-ext reaches home/.qmail-ext; the home defaults to
// HOME/mail/NAME (created 0700 with Maildir/{cur,new,tmp}, owned by uid/gid). uid/gid
// default to qmta's own; run as root, to the qmta account's (control/qmtauser), never 0:
// qmail-lspawn refuses to deliver as root, so uid 0 is refused (perm 5.7.0).
// Failures: bad name -> perm 5.1.3; existing user on add -> perm 5.1.0; unknown user on
// del/passwd -> perm 5.1.1; empty or oversized password -> perm 5.7.0; I/O -> temp 4.3.x.
// Guarantees: every file change is an atomic rename after fsync, under the users/ lock.

import { chown, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ok, perm, type Outcome } from '../outcome.js';
import { accountByUid } from '../native.js';
import { homeAccount } from '../privilege/account.js';
import { formatAssign, loadAssign, type AssignEntry } from './assign.js';
import { writeFileAtomic } from './atomic-write.js';
import { withUsersLock } from './lock.js';
import { hashPassword, MAX_PASSWORD_BYTES, readSecrets, secretsText, type SecretsFile } from './passwd.js';

export interface UserInfo {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly password: boolean;
  readonly apop: boolean;
}

export interface AddUserOptions {
  readonly homeDir?: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** Lowercase, starts with a letter or digit, at most 31 characters (qmail-getpw's limit). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,30}$/;

function checkName(name: string): Outcome<void> {
  if (!NAME.test(name)) return perm('5.1.3', `bad user name "${name}" (a-z 0-9 . _ -, at most 31)`);
  if (name === 'alias') return perm('5.1.3', '"alias" is the alias user: edit HOME/alias/.qmail-* instead');
  return ok(undefined);
}

/** Adds a user with a home holding Maildir/. */
export async function addUser(home: string, name: string, opts: AddUserOptions = {}): Promise<Outcome<UserInfo>> {
  const valid = checkName(name);
  if (valid.kind !== 'ok') return valid;
  if (opts.uid === 0) return perm('5.7.0', 'uid 0 is root: qmta never delivers as root (qmail-lspawn\'s rule)');
  const owner = await ownerOf(home, opts);
  if (owner.kind !== 'ok') return owner;
  const { uid, gid } = owner.value;
  await mkdir(join(home, 'users'), { recursive: true });
  return withUsersLock(home, async () => {
    const table = await loadAssign(home);
    if (table.kind !== 'ok') return table;
    if (table.value.entries.some((e) => e.user === name)) return perm('5.1.0', `user ${name} already exists`);
    const dir = opts.homeDir === undefined ? join(home, 'mail', name) : resolve(opts.homeDir);
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, 'Maildir', sub), { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) {
      for (const p of [dir, join(dir, 'Maildir'), ...['cur', 'new', 'tmp'].map((d) => join(dir, 'Maildir', d))]) await chown(p, uid, gid);
    }
    const base = { user: name, uid, gid, home: dir };
    const added: AssignEntry[] = [
      { ...base, kind: '=', local: name, dash: '', ext: '' },
      { ...base, kind: '+', local: `${name}-`, dash: '-', ext: '' },
    ];
    const w = await writeFileAtomic(join(home, 'users', 'assign'), formatAssign([...table.value.entries, ...added]), 0o644);
    if (w.kind !== 'ok') return w;
    return ok({ name, uid, gid, home: dir, password: false, apop: false });
  });
}

/** The ids a new user's deliveries run as (see the header). */
async function ownerOf(home: string, opts: AddUserOptions): Promise<Outcome<{ uid: number; gid: number }>> {
  if (opts.uid !== undefined) {
    const known = accountByUid(opts.uid);
    const gid = opts.gid ?? (known.kind === 'ok' ? known.value?.gid : undefined);
    if (gid === undefined) return perm('5.1.3', `uid ${opts.uid} has no account here: give --gid`);
    return ok({ uid: opts.uid, gid });
  }
  const account = await homeAccount(home);
  if (account.kind !== 'ok') return account;
  return ok({ uid: account.value?.uid ?? process.getuid?.() ?? 0, gid: opts.gid ?? account.value?.gid ?? process.getgid?.() ?? 0 });
}

/** Removes a user's assign lines, password and APOP secret; the mail stays on disk. */
export async function delUser(home: string, name: string): Promise<Outcome<void>> {
  return withExistingUser(home, name, async (entries) => {
    const w = await writeFileAtomic(join(home, 'users', 'assign'),
      formatAssign(entries.filter((e) => e.user !== name)), 0o644);
    if (w.kind !== 'ok') return w;
    for (const file of ['passwd', 'apop'] as const) {
      const r = await updateSecrets(home, file, (m) => m.delete(name));
      if (r.kind !== 'ok') return r;
    }
    return ok(undefined);
  });
}

/** Sets the scrypt password (users/passwd) or, with apop, the APOP secret (users/apop). */
export async function setPassword(home: string, name: string, password: string,
  opts: { readonly apop?: boolean } = {}): Promise<Outcome<void>> {
  if (password === '' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES || /[\n\r\0]/.test(password)) {
    return perm('5.7.0', `password must be 1 to ${MAX_PASSWORD_BYTES} bytes without line breaks or NUL`);
  }
  const value = opts.apop ? password : await hashPassword(password);
  return withExistingUser(home, name, () => updateSecrets(home, opts.apop ? 'apop' : 'passwd', (m) => m.set(name, value)));
}

/** Every user with an exact assign line, with whether a password and APOP secret are set. */
export async function listUsers(home: string): Promise<Outcome<UserInfo[]>> {
  const table = await loadAssign(home);
  if (table.kind !== 'ok') return table;
  const passwd = await readSecrets(home, 'passwd');
  if (passwd.kind !== 'ok') return passwd;
  const apop = await readSecrets(home, 'apop');
  if (apop.kind !== 'ok') return apop;
  const users = table.value.entries.filter((e) => e.kind === '=' && e.local.toLowerCase() === e.user);
  return ok(users.map((e) => ({
    name: e.user, uid: e.uid, gid: e.gid, home: e.home,
    password: passwd.value.has(e.user), apop: apop.value.has(e.user),
  })));
}

async function withExistingUser(home: string, name: string,
  fn: (entries: readonly AssignEntry[]) => Promise<Outcome<void>>): Promise<Outcome<void>> {
  await mkdir(join(home, 'users'), { recursive: true });
  return withUsersLock(home, async () => {
    const table = await loadAssign(home);
    if (table.kind !== 'ok') return table;
    if (!table.value.entries.some((e) => e.user === name)) return perm('5.1.1', `no such user: ${name}`);
    return fn(table.value.entries);
  });
}

async function updateSecrets(home: string, file: SecretsFile, change: (m: Map<string, string>) => void): Promise<Outcome<void>> {
  const secrets = await readSecrets(home, file);
  if (secrets.kind !== 'ok') return secrets;
  change(secrets.value);
  return writeFileAtomic(join(home, 'users', file), secretsText(secrets.value), 0o600);
}
