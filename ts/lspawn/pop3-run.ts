// `qmta pop3-run -- user home` (hidden): a POP3 session's TRANSACTION state run by the
// helper as the mailbox owner, on the socket the daemon relays the client's connection to
// (stdin and stdout). It locks, lists, reads and deletes the owner's Maildir as the owner.
//
// Interface: pop3Run(argv) -> exit code (0 when the session ends).
// Failures: bad arguments -> "-ERR [SYS/TEMP]" and exit 111; the maildrop's (IN-USE,
// unreadable) as the daemon would answer them, then the connection closes.

import { Socket } from 'node:net';
import { join } from 'node:path';
import { ok } from '../outcome.js';
import { FailureTracker } from '../pop3d/limits.js';
import { nativeStore } from '../pop3d/native-store.js';
import { startTransaction } from '../pop3d/session.js';
import { DEFAULT_POP3 } from '../pop3d/settings.js';

/** Serves one session as the current (owner's) uid. */
export async function pop3Run(argv: readonly string[]): Promise<number> {
  const socket = new Socket({ fd: 0, readable: true, writable: true });
  if (argv.length !== 2 || !argv[1]!.startsWith('/')) {
    socket.end('-ERR [SYS/TEMP] pop3-run: bad arguments\r\n');
    return 111;
  }
  const [user, home] = argv as [string, string];
  const refuse = async () => ok(false);
  await startTransaction(socket, {
    settings: DEFAULT_POP3,
    deps: { verifyPassword: refuse, apopSecret: async () => ok(undefined), anyApopSecret: async () => ok(false), homeOf: async () => ok(home), store: nativeStore },
    failures: new FailureTracker(1, 1),
    timestamp: () => '',
  }, user, join(home, 'Maildir'));
  return 0;
}
