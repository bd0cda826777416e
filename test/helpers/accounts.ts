// The real second account the privilege tests use as root (made with useradd, once per
// machine): a system account with a home and one extra group, so tests can see that a
// child started as it has its uid, gid and supplementary groups. Concurrent tests may
// race to make it: each step is retried after a fresh look.

import { execFileSync, spawnSync } from 'node:child_process';
import { accountByName } from '../../ts/native.js';

export const SYSTEM_USER = 'qmtasys';
const GROUP = 'qmtasysextra';

export interface SystemAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** The extra group's gid. */
  readonly extra: number;
}

function ensure(check: string[], make: string[]): void {
  for (let i = 0; i < 20 && spawnSync(check[0]!, check.slice(1)).status !== 0; i++) {
    if (spawnSync(make[0]!, make.slice(1)).status !== 0) spawnSync('sleep', ['0.2']);
  }
}

/** The test account (root only), made when missing. */
export function systemAccount(): SystemAccount {
  ensure(['getent', 'group', GROUP], ['groupadd', '--system', GROUP]);
  ensure(['id', SYSTEM_USER], ['useradd', '--create-home', SYSTEM_USER]);
  const inGroup = () => execFileSync('id', ['-nG', SYSTEM_USER], { encoding: 'utf8' }).split(/\s+/).includes(GROUP);
  for (let i = 0; i < 20 && !inGroup(); i++) spawnSync('usermod', ['-a', '-G', GROUP, SYSTEM_USER]);
  const a = accountByName(SYSTEM_USER);
  if (a.kind !== 'ok' || !a.value) throw new Error(`useradd did not make ${SYSTEM_USER}`);
  const extra = Number(execFileSync('getent', ['group', GROUP], { encoding: 'utf8' }).split(':')[2]);
  return { name: a.value.name, uid: a.value.uid, gid: a.value.gid, home: a.value.home, extra };
}
