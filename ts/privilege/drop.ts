// The drop: root becomes the qmta account for good (qmail-start's setgroups, setgid,
// setuid before exec'ing qmail-send), then proves there is no way back.
//
// Interface: dropTo(account) -> Outcome<void>; reachable(home) -> Outcome<void>.
// Order: supplementary groups (the account's own, initgroups), gid, uid. glibc applies
// each of these to every thread of the process (its set*id broadcast), so the core's
// threads, libuv's pool and worker threads all change together; the tests read
// /proc/PID/task/*/status to show it. With real, effective and saved uid all set, the
// kernel clears every capability.
// Failures: a call fails, an id did not change, or setuid(0) still works -> temp 4.3.0
// (the daemon exits 111: never run on half dropped). reachable(): a folder on the way to
// the home that the account may not search -> temp 4.3.0 naming it.

import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Account } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';

/** Drops every privilege to `account`; see the header. */
export function dropTo(account: Account): Outcome<void> {
  try {
    process.initgroups!(account.name, account.gid);
    process.setgid!(account.gid);
    process.setuid!(account.uid);
  } catch (err) {
    return temp('4.3.0', `cannot become ${account.name}: ${(err as Error).message}`);
  }
  const ids = [process.getuid!(), process.geteuid!(), process.getgid!(), process.getegid!()];
  if (ids.join() !== [account.uid, account.uid, account.gid, account.gid].join() || process.getgroups!().includes(0)) {
    return temp('4.3.0', `dropping to ${account.name} left ids ${ids.join(',')} groups ${process.getgroups!().join(',')}`);
  }
  try {
    process.setuid!(0);
  } catch {
    return ok(undefined); // the way back is closed, as it must be
  }
  return temp('4.3.0', `after dropping to ${account.name}, setuid(0) still worked`);
}

/** After the drop: the home must be searchable, readable and writable by us. */
export function reachable(home: string): Outcome<void> {
  const path = resolve(home);
  if (can(path, constants.R_OK | constants.W_OK | constants.X_OK)) return ok(undefined);
  const ancestors: string[] = [];
  for (let dir = dirname(path); !ancestors.includes(dir); dir = dirname(dir)) ancestors.unshift(dir);
  const blocked = ancestors.find((dir) => !can(dir, constants.X_OK)) ?? path;
  return temp('4.3.0', `the qmta account (uid ${process.getuid!()}) cannot reach ${path}: ${blocked} is not ` +
    'searchable (or the home not writable) by it; chmod o+x the folders on the way, or put the home under /var/lib');
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}
