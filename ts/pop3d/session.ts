// One POP3 session: the AUTHORIZATION state (qmail-popup's part), then TRANSACTION and
// UPDATE (qmail-pop3d's part), on one Conn.
//
// Interface: startSession(socket, ctx) -> Promise<void> (settles when the connection
// is gone and the mailbox lock is released).
// AUTHORIZATION: USER/PASS (refused before TLS unless settings.plaintext), APOP (with or
// without TLS: the password never crosses the wire; only when the greeting offered it,
// see apopOffered in auth.ts), STLS (RFC 2595), CAPA (RFC 2449), NOOP, QUIT.
// Up to maxAuthPerConnection attempts (qmail-popup allowed one); each failure waits
// badPasswordDelayMs and counts against the client's IP address.
// Response codes (RFC 2449 §8, RFC 3206): [IN-USE] another session holds the maildrop,
// [AUTH] credentials refused, [SYS/TEMP] and [SYS/PERM] server-side trouble.
// Guarantees: deletions happen only when QUIT is received in TRANSACTION state; a
// dropped or timed-out connection releases the lock and changes nothing.

import { stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { apopOffered, authenticate, type Authenticator, type Credentials } from './auth.js';
import { Conn } from './conn.js';
import type { FailureTracker } from './limits.js';
import { TOO_LONG, type Line } from './lines.js';
import { lockMaildir, type MaildirLock } from './lock.js';
import { Maildrop, openMaildrop } from './maildrop.js';
import type { Pop3Settings } from './settings.js';
import { transact } from './transaction.js';
import type { MaildropStore } from './store.js';
import type { Outcome } from '../outcome.js';

export interface Pop3Log {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface Pop3Deps extends Authenticator {
  /** users/assign: the user's home directory (its Maildir/ is the maildrop). */
  homeOf(user: string): Promise<Outcome<string | undefined>>;
  /** A partitioned daemon: for a system account, a socket to a session run as that
   *  account (ts/lspawn/pop3.ts), which the connection is relayed to; undefined: serve here. */
  runAs?(user: string): Promise<Outcome<number> | undefined>;
  /** The native maildrop reader; tests may substitute one. */
  readonly store: MaildropStore;
  readonly log?: Pop3Log;
}

export interface SessionContext {
  readonly settings: Pop3Settings;
  readonly deps: Pop3Deps;
  /** Replaced by setTls() (SIGHUP): a renewed certificate serves the next handshakes. */
  tls?: SecureContext;
  readonly failures: FailureTracker;
  readonly timestamp: () => string;
}

/** Runs a POP3 session on `socket` until it ends. */
export function startSession(socket: Socket, ctx: SessionContext): Promise<void> {
  return new Promise((resolve) => {
    const session = new Session(ctx);
    session.conn = new Conn(socket, ctx.settings.idleTimeoutMs, (line) => session.handle(line), () => {
      void session.gone().then(resolve);
    });
    session.greeted = session.greet();
  });
}

/** A session already authenticated: the TRANSACTION state for `user` (run as the mailbox
 *  owner by the helper, ts/lspawn/pop3-run.ts); closes when the maildrop cannot be opened. */
export function startTransaction(socket: Socket, ctx: SessionContext, user: string, maildir: string): Promise<void> {
  return new Promise((resolve) => {
    const session = new Session(ctx);
    session.conn = new Conn(socket, ctx.settings.idleTimeoutMs, (line) => session.handle(line), () => {
      void session.gone().then(resolve);
    });
    void session.enterAs(user, maildir);
  });
}

class Session {
  conn!: Conn;
  /** Settles once the greeting is written; every command waits for it. */
  greeted: Promise<void> = Promise.resolve();
  /** The timestamp given to APOP and to checkpassword (qmail-popup's), shown only with APOP. */
  readonly timestamp: string;
  private apop = false;
  private user: string | undefined;
  private attempts = 0;
  private drop: Maildrop | undefined;
  private lock: MaildirLock | undefined;

  constructor(private readonly ctx: SessionContext) {
    this.timestamp = ctx.timestamp();
  }

  /** The greeting, with the APOP timestamp only where APOP can succeed. */
  async greet(): Promise<void> {
    const offered = await apopOffered(this.ctx.deps, this.ctx.settings.checkpassword);
    if (offered.kind !== 'ok') this.ctx.deps.log?.warn({ event: 'pop3', err: offered.text }, 'pop3: APOP not offered');
    this.apop = offered.kind === 'ok' && offered.value;
    await this.conn.write(`+OK qmta POP3 server ready${this.apop ? ` ${this.timestamp}` : ''}\r\n`);
  }

  async handle(line: Line): Promise<void> {
    await this.greeted;
    if (line === TOO_LONG) return this.conn.write('-ERR line too long\r\n');
    const [word = '', ...args] = line.split(' ');
    const verb = word.toUpperCase();
    if (verb === 'QUIT') return this.quit();
    if (verb === 'CAPA') return this.conn.write(this.capabilities());
    if (this.drop) {
      if (await transact(this.drop, this.ctx.deps.store, this.conn, verb, args)) return;
      return this.conn.write('-ERR unknown command\r\n');
    }
    // Lines arrive as latin1 (byte-preserving); names and passwords are UTF-8 (RFC 6856).
    const text = Buffer.from(line, 'latin1').toString('utf8');
    return this.authorization(verb, text.split(' ').slice(1), text);
  }

  /** The connection is gone: release the lock; deletions are NOT applied. */
  async gone(): Promise<void> {
    await this.lock?.release();
    this.lock = undefined;
  }

  private async authorization(verb: string, args: string[], line: string): Promise<void> {
    switch (verb) {
      case 'NOOP':
        return this.conn.write('+OK\r\n');
      case 'STLS':
        return this.stls();
      case 'USER':
        return this.userCommand(args);
      case 'PASS':
        return this.passCommand(line.slice(5));
      case 'APOP':
        if (!this.apop) return this.conn.write('-ERR APOP not offered: use USER and PASS\r\n');
        if (args.length !== 2 || !args[0] || !args[1]) return this.conn.write('-ERR syntax error\r\n');
        return this.login({ kind: 'apop', user: args[0], digest: args[1] });
      default:
        return this.conn.write('-ERR authorization first\r\n');
    }
  }

  private plaintextAllowed(): boolean {
    return this.conn.encrypted || this.ctx.settings.plaintext;
  }

  private userCommand(args: string[]): Promise<void> {
    if (!this.plaintextAllowed()) return this.conn.write('-ERR [AUTH] USER/PASS need TLS: use STLS first\r\n');
    if (args.length !== 1 || !args[0]) return this.conn.write('-ERR syntax error\r\n');
    this.user = args[0];
    return this.conn.write('+OK\r\n');
  }

  private passCommand(password: string): Promise<void> {
    if (!this.plaintextAllowed()) return this.conn.write('-ERR [AUTH] USER/PASS need TLS: use STLS first\r\n');
    if (this.user === undefined) return this.conn.write('-ERR USER first\r\n');
    if (!password) return this.conn.write('-ERR syntax error\r\n');
    const user = this.user;
    this.user = undefined;
    return this.login({ kind: 'pass', user, password });
  }

  private async stls(): Promise<void> {
    if (!this.ctx.tls || this.conn.encrypted) return this.conn.write('-ERR STLS not available\r\n');
    await this.conn.write('+OK begin TLS negotiation\r\n');
    this.user = undefined; // nothing from before the handshake counts
    await this.conn.startTls(this.ctx.tls);
  }

  private async login(c: Credentials): Promise<void> {
    const ip = this.conn.remoteAddress;
    if (this.ctx.failures.blocked(ip)) {
      return this.conn.write('-ERR [SYS/TEMP] too many failed logins from your address, try later\r\n');
    }
    const ctx = this.ctx;
    const r = await authenticate({ auth: ctx.deps, checkpassword: ctx.settings.checkpassword, checkpasswordTimeoutMs: ctx.settings.checkpasswordTimeoutMs, timestamp: this.timestamp }, c);
    if (r.kind !== 'ok') return this.conn.write(`-ERR [SYS/TEMP] ${r.text}\r\n`);
    if (r.value === 'bad') return this.refuse(ip, c.user);
    const home = r.value.home === undefined ? await ctx.deps.homeOf(c.user) : { kind: 'ok' as const, value: r.value.home };
    if (home.kind !== 'ok') return this.conn.write(`-ERR [SYS/TEMP] ${home.text}\r\n`);
    if (home.value === undefined) return this.conn.write('-ERR [SYS/PERM] this user has no mailbox\r\n');
    const owner = await ctx.deps.runAs?.(c.user);
    if (owner?.kind === 'ok') return this.conn.relay(new Socket({ fd: owner.value, readable: true, writable: true }));
    if (owner) return this.conn.write(`-ERR [SYS/TEMP] ${owner.text}\r\n`);
    return this.enter(c.user, join(home.value, 'Maildir'));
  }

  private async refuse(ip: string, user: string): Promise<void> {
    this.ctx.failures.record(ip);
    this.ctx.deps.log?.warn({ ip, user }, 'pop3 authentication failed');
    await sleep(this.ctx.settings.badPasswordDelayMs);
    await this.conn.write('-ERR [AUTH] authentication failed\r\n');
    if (++this.attempts >= this.ctx.settings.maxAuthPerConnection) this.conn.close();
  }

  /** enter() for a session that starts in TRANSACTION state; closes if it cannot. */
  async enterAs(user: string, maildir: string): Promise<void> {
    await this.enter(user, maildir);
    if (!this.drop) this.conn.close();
  }

  /** Locks and opens the maildrop: the move to TRANSACTION state. */
  private async enter(user: string, maildir: string): Promise<void> {
    // Departure from qmail-pop3d ("-ERR this user has no $HOME/Maildir"): a user who has
    // never received mail has an empty maildrop; there is nothing to lock or change.
    if (!(await exists(maildir))) return this.start(user, new Maildrop(maildir, []), undefined);
    const lock = await lockMaildir(maildir, this.ctx.settings.lockStaleMs);
    if (lock.kind !== 'ok') return this.conn.write(`-ERR [SYS/TEMP] ${lock.text}\r\n`);
    if (lock.value === 'in-use') return this.conn.write('-ERR [IN-USE] mailbox already in use by another session\r\n');
    const drop = await openMaildrop(maildir, this.ctx.deps.store);
    if (drop.kind !== 'ok' || this.conn.closed) {
      await lock.value.release();
      if (drop.kind === 'ok') return;
      return this.conn.write(`-ERR [SYS/${drop.kind === 'temp' ? 'TEMP' : 'PERM'}] ${drop.text}\r\n`);
    }
    return this.start(user, drop.value, lock.value);
  }

  private start(user: string, drop: Maildrop, lock: MaildirLock | undefined): Promise<void> {
    this.lock = lock;
    this.drop = drop;
    this.ctx.deps.log?.info({ user, ip: this.conn.remoteAddress, messages: drop.messages.length }, 'pop3 login');
    const octets = drop.messages.reduce((sum, m) => sum + m.size, 0);
    return this.conn.write(`+OK maildrop has ${drop.messages.length} messages (${octets} octets)\r\n`);
  }

  /** QUIT: in TRANSACTION state this is the UPDATE state (RFC 1939 §6). */
  private async quit(): Promise<void> {
    const drop = this.drop;
    this.drop = undefined;
    const removed = drop ? await drop.commitDeletions() : true;
    await this.lock?.release();
    this.lock = undefined;
    await this.conn.write(removed ? '+OK bye\r\n' : '-ERR [SYS/TEMP] some deleted messages not removed\r\n');
    this.conn.close();
  }

  private capabilities(): string {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION qmta'];
    if (!this.drop && this.plaintextAllowed()) caps.push('USER');
    if (!this.drop && this.ctx.tls && !this.conn.encrypted) caps.push('STLS');
    return `+OK capability list follows\r\n${caps.join('\r\n')}\r\n.\r\n`;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT');
}
