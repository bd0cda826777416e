// `qmta start` as root: what happens before the first network byte (qmail-start's part).
// Finds or creates the qmta account (control/qmtauser), gives it the home (migration of
// a home an earlier version ran as root), prepares the TLS pair while the admin's files
// are still readable, binds every listener, starts the delivery helper when system
// accounts receive mail (ts/lspawn), drops to the account for good, and checks the home
// is reachable as the account. Started by anyone else, nothing changes: one process.
//
// Interface: partition(home, overrides) -> Outcome<Partition | undefined> (undefined:
// not root, nothing done). Partition.notes are the lines to log once the log is open
// (account created, migrations, generated certificate).
// Failures: any step's -> temp (the daemon exits 111 before reading any network byte).
// Order matters (SECURITY.md): bind before the drop, listen(2) after (ts/net/prebound.ts).

import { chownSync, chmodSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig, type Config, type ControlOverrides } from '../config/index.js';
import type { Account } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';
import { ensureAccount } from '../privilege/account.js';
import { dropTo, reachable } from '../privilege/drop.js';
import { migrateHome } from '../privilege/migrate.js';
import { prebind } from '../net/prebound.js';
import { loadTls } from '../smtpd/tls.js';
import { startHelper, type Helper } from '../lspawn/helper.js';
import { loadAssign } from '../users/assign.js';

export interface Partition {
  readonly account: Account;
  readonly notes: readonly string[];
  /** The delivery helper, when users/assign names system accounts at start. */
  readonly helper?: Helper;
}

/** Runs the root part of start-up and drops; see the header. */
export async function partition(home: string, overrides: ControlOverrides): Promise<Outcome<Partition | undefined>> {
  if (process.getuid?.() !== 0) return ok(undefined);
  const config = await loadConfig(home, overrides);
  if (config.kind !== 'ok') return config;
  const c = config.value;
  const found = await ensureAccount(c.qmtauser, c.home);
  if (found.kind !== 'ok') return found;
  const { account, created } = found.value;
  const notes = created ? [`created the account ${account.name} (uid ${account.uid}, gid ${account.gid}) for qmta`] : [];
  if (created) process.stderr.write(`qmta: ${notes[0]}\n`);
  const migrated = await migrateHome(c.home, account);
  if (migrated.kind !== 'ok') return migrated;
  notes.push(...migrated.value);
  const tls = prepareTls(c, account);
  if (tls.kind !== 'ok') return tls;
  notes.push(...tls.value);
  for (const k of c.dkimkeys) {
    const readable = keyReadable(k.path, account, join(c.home, 'control'));
    if (readable.kind !== 'ok') return readable;
    notes.push(...readable.value);
  }
  const bound = prebind([...c.smtplisten, ...c.submissionlisten, ...c.smtpslisten, ...c.pop3listen, ...c.pop3slisten]);
  if (bound.kind !== 'ok') return bound;
  const started = await systemAccounts(c.home, account) ? startHelper(account.uid) : undefined;
  if (started && started.kind !== 'ok') return started;
  const helper = started?.value;
  if (helper) notes.push(`delivery helper started (pid ${helper.pid}) for the system accounts in users/assign`);
  const dropped = dropTo(account);
  if (dropped.kind !== 'ok') return dropped;
  const reach = reachable(c.home);
  if (reach.kind !== 'ok') return reach;
  return ok({ account, notes, ...(helper ? { helper } : {}) });
}

/**
 * A missing pair is generated now, as root, into control/ (root's), with the key's group
 * the account's (0640): the daemon reads it again after the drop and on SIGHUP. An
 * admin's own key must be readable by the account for the same reason (README).
 */
function prepareTls(c: Config, account: Account): Outcome<string[]> {
  if (existsSync(c.tlscert) || existsSync(c.tlskey)) return keyReadable(c.tlskey, account, join(c.home, 'control'));
  const notes: string[] = [];
  const log = { info: () => undefined, error: () => undefined, warn: (_: object, msg?: string) => void notes.push(msg ?? '') };
  try {
    loadTls({ certFile: c.tlscert, keyFile: c.tlskey }, c.me, log);
    chownSync(c.tlskey, 0, account.gid);
    chmodSync(c.tlskey, 0o640);
  } catch (err) {
    return temp('4.3.0', (err as Error).message);
  }
  return ok(notes.map((n) => `${n} (${c.tlscert})`));
}

/**
 * An existing key (TLS, or DKIM from control/dkimkeys) must be readable by the account
 * (owner, group or other bits). One in the home's control/ is given to the account's group
 * (root:qmta 0640, and its folder inside control/ root:qmta 0750, logged): that is where
 * qmta generates its TLS pair and `qmta dkim keygen` its keys as root, before the account
 * may exist, and a start killed between openssl and the chown leaves it root's 0600. A key
 * elsewhere (/etc/letsencrypt...) is the admin's: refused, with what to do.
 */
function keyReadable(key: string, account: Account, control: string): Outcome<string[]> {
  if (!existsSync(key)) return ok([]); // loadTls and the keyring report a missing key
  const st = statSync(key);
  const bit = st.uid === account.uid ? 0o400 : st.gid === account.gid ? 0o040 : 0o004;
  if ((st.mode & bit) !== 0) return ok([]);
  if (key.startsWith(`${control}/`) && st.uid === 0) {
    for (let dir = dirname(key); dir !== control; dir = dirname(dir)) {
      chownSync(dir, 0, account.gid);
      chmodSync(dir, statSync(dir).mode & 0o7777 | 0o050);
    }
    chownSync(key, 0, account.gid);
    chmodSync(key, 0o640);
    return ok([`gave ${key} to group ${account.name} (0640): qmta rereads it on SIGHUP`]);
  }
  return temp('4.3.0', `${key} is not readable by ${account.name}, which reloads it on SIGHUP: chgrp ${account.name} it and chmod 0640`);
}

/** True when users/assign gives some address a uid other than the account's. */
async function systemAccounts(home: string, account: Account): Promise<boolean> {
  const table = await loadAssign(home);
  return table.kind === 'ok' && table.value.entries.some((e) => e.uid !== account.uid);
}
