// Idle SMTP sessions kept open for a short while, so that the next delivery to the same
// server reuses the connection (Postfix's connection cache; qmail opened one connection
// per recipient). A smarthost or a busy MX then costs one TCP/TLS handshake per burst
// instead of one per message.
//
// Interface: new SessionCache(maxIdle, idleMs); put(key, session); take(key) ->
// Promise<IdleSession | undefined>; closeAll().
// The key names everything the session was set up with (address, port, MX name, TLS
// mode, credentials, helohost): a session is only reused for an identical setup.
// Guarantees: a session is reused only after a live RSET -> 250 check, so a server that
// closed an idle connection costs a fresh connect, never a failed delivery; at most
// maxIdle idle sessions exist; each is QUIT after idleMs unused; idleMs 0 disables the cache.

import { ConnectionLost, type SmtpConnection } from './connection.js';
import type { Extensions } from './ehlo.js';

export interface IdleSession {
  readonly conn: SmtpConnection;
  readonly ext: Extensions;
}

interface Entry {
  readonly session: IdleSession;
  readonly timer: NodeJS.Timeout;
}

export class SessionCache {
  readonly #idle = new Map<string, Entry[]>();
  #count = 0;

  constructor(private readonly maxIdle: number, private readonly idleMs: number) {}

  /** Keeps a session after a completed transaction, or QUITs it (disabled, full, dead). */
  put(key: string, session: IdleSession): void {
    if (this.idleMs <= 0 || this.#count >= this.maxIdle || !session.conn.alive) return session.conn.quit();
    session.conn.setIdle(true);
    const list = this.#idle.get(key) ?? [];
    const entry: Entry = { session, timer: setTimeout(() => this.#expire(key, entry), this.idleMs).unref() };
    list.push(entry);
    this.#idle.set(key, list);
    this.#count++;
  }

  /** A live idle session for `key` (checked with RSET), else undefined. */
  async take(key: string): Promise<IdleSession | undefined> {
    for (;;) {
      const entry = this.#idle.get(key)?.at(-1);
      if (!entry) return undefined;
      this.#forget(key, entry);
      entry.session.conn.setIdle(false);
      if (await isLive(entry.session.conn)) return entry.session;
    }
  }

  /** QUITs every idle session (shutdown). */
  closeAll(): void {
    for (const [key, list] of [...this.#idle]) {
      for (const entry of [...list]) {
        this.#forget(key, entry);
        entry.session.conn.quit();
      }
    }
  }

  #expire(key: string, entry: Entry): void {
    this.#forget(key, entry);
    entry.session.conn.quit();
  }

  /** Removes an entry that is in the cache. */
  #forget(key: string, entry: Entry): void {
    clearTimeout(entry.timer);
    const list = this.#idle.get(key)!;
    list.splice(list.indexOf(entry), 1);
    if (list.length === 0) this.#idle.delete(key);
    this.#count--;
  }
}

/** RSET on an idle session: 250 means the server still holds it for us. */
async function isLive(conn: SmtpConnection): Promise<boolean> {
  if (!conn.alive) return false;
  try {
    await conn.write('RSET\r\n');
    if ((await conn.read()).code === 250) return true;
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
  }
  conn.destroy();
  return false;
}
