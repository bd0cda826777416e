// The POP3 service's dependencies read from a qmta home: users/passwd and users/apop
// (ts/users/passwd.ts) for credentials, users/assign for the mailbox, the native store.
//
// Interface: pop3DepsFromHome(home, log?) -> Pop3Deps.
// The maildrop of login NAME (or NAME@local-domain) is HOME_OF_NAME/Maildir where
// HOME_OF_NAME is the home of the exact `=name` line of users/assign (`qmta user add`
// writes one per user). qmail-lspawn's fall-through to the alias user is deliberately
// not followed: a POP3 login must never open the alias user's mail.
// Failures: unreadable users/ files -> temp 4.3.x (the client sees -ERR [SYS/TEMP]).

import { loadAssign } from '../users/assign.js';
import { apopSecret, checkPassword, loginUser, readSecrets } from '../users/passwd.js';
import { ok, type Outcome } from '../outcome.js';
import { nativeStore } from './native-store.js';
import type { Pop3Deps, Pop3Log } from './session.js';

/** Dependencies for startPop3d taken from the home directory `home`. */
export function pop3DepsFromHome(home: string, log?: Pop3Log): Pop3Deps {
  return {
    verifyPassword: (user, password) => checkPassword(home, user, password),
    apopSecret: (user) => apopSecret(home, user),
    anyApopSecret: async () => {
      const secrets = await readSecrets(home, 'apop');
      return secrets.kind === 'ok' ? ok(secrets.value.size > 0) : secrets;
    },
    homeOf: (user) => homeOf(home, user),
    store: nativeStore,
    log,
  };
}

async function homeOf(home: string, login: string): Promise<Outcome<string | undefined>> {
  const user = await loginUser(home, login);
  if (user === undefined) return ok(undefined);
  const table = await loadAssign(home);
  if (table.kind !== 'ok') return table;
  return ok(table.value.exact.get(user)?.home);
}
