// POP3 for a system account, run as that account (qmail-pop3d after checkpassword's
// setuid): once the daemon has authenticated a login whose users/assign line has another
// uid than the daemon's, it asks the helper for a session run as that uid on a fresh
// socket pair, and relays the client's connection to it (ts/pop3d conn.ts relay; TLS
// stays in the daemon). Virtual users are served by the daemon itself.
//
// Interface: pop3RunAs(home, helper) -> (login) -> Promise<Outcome<fd> | undefined>
// (undefined: the daemon's own user).
// Failures: uid 0 -> temp ("Not allowed to perform deliveries as root."); no helper ->
// temp (restart qmta as root); the request cannot be sent -> temp 4.3.0.

import { ok, temp, type Outcome } from '../outcome.js';
import { loadAssign } from '../users/assign.js';
import { loginUser } from '../users/passwd.js';
import type { Helper } from './helper.js';

/** The daemon's runAs for the POP3 service. */
export function pop3RunAs(home: string, helper: Helper | undefined): (login: string) => Promise<Outcome<number> | undefined> {
  return async (login) => {
    const user = await loginUser(home, login);
    const table = await loadAssign(home);
    if (table.kind !== 'ok') return table;
    const e = user === undefined ? undefined : table.value.exact.get(user);
    if (!e || e.uid === process.getuid?.()) return undefined;
    if (e.uid === 0) return temp('4.3.0', 'Not allowed to perform deliveries as root.');
    if (!helper) return temp('4.3.0', `${e.user} is a system account and no delivery helper runs: restart qmta as root`);
    const fd = helper.request({ kind: 'pop3', uid: e.uid, gid: e.gid, user: e.user, home: e.home, local: '', dash: '', ext: '', domain: '', sender: '', timeoutMs: 0 });
    return fd.kind === 'ok' ? ok(fd.value) : fd;
  };
}
