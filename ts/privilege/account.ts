// The qmta account (control/qmtauser, default `qmta`): found through the C library
// (NSS), or created by `qmta start` as root when missing, so the README's start command
// works on a fresh machine (qmail's INSTALL asked the admin to run useradd by hand).
//
// Interface: ensureAccount(name, home) -> Outcome<{ account, created }>.
// Creation: `useradd --system --user-group --no-create-home --home-dir HOME --shell
// NOLOGIN NAME` (a system uid, a group of the same name, no login). Two starts racing
// to create it are fine: a useradd that fails is followed by a fresh look-up.
// Failures: the account has uid 0 or gid 0 -> temp 4.3.5 (never run the daemon as root
// under another name); useradd missing or failing and still no account -> temp 4.3.0
// naming the command to run by hand.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountByName, type Account } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';

export interface EnsuredAccount {
  readonly account: Account;
  /** True when this call made it (the daemon says so once). */
  readonly created: boolean;
}

const ATTEMPTS = 10;

/** Finds the account `name`, creating it (and its group) when missing. */
export async function ensureAccount(name: string, home: string): Promise<Outcome<EnsuredAccount>> {
  let why = '';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const found = accountByName(name);
    if (found.kind !== 'ok') return found;
    if (found.value) return checked(found.value, attempt > 0 && why === '');
    why = createAccount(name, home);
    if (why !== '') await sleep(100 * (attempt + 1)); // another start holds /etc/passwd's lock
  }
  return temp('4.3.0', `cannot create the account ${name} (${why}): run useradd --system --user-group ${name}`);
}

function checked(a: Account, created: boolean): Outcome<EnsuredAccount> {
  if (a.uid === 0 || a.gid === 0) return temp('4.3.5', `control/qmtauser names ${a.name}, whose uid or gid is 0: qmta never runs as root`);
  return ok({ account: a, created });
}

/** Runs useradd; '' when it succeeded, else why not. */
function createAccount(name: string, home: string): string {
  const shell = ['/usr/sbin/nologin', '/sbin/nologin'].find((s) => existsSync(s)) ?? '/bin/false';
  const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', shell, name],
    { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `useradd: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`;
  return r.status === 0 ? '' : `useradd exit ${r.status}: ${r.stderr.trim()}`;
}

/** As root: the home's qmta account (control/qmtauser), created when missing; else undefined. */
export async function homeAccount(home: string): Promise<Outcome<Account | undefined>> {
  if (process.getuid?.() !== 0) return ok(undefined);
  const { loadConfig } = await import('../config/index.js');
  const c = await loadConfig(home);
  if (c.kind !== 'ok') return c;
  const found = await ensureAccount(c.value.qmtauser, c.value.home);
  return found.kind === 'ok' ? ok(found.value.account) : found;
}
