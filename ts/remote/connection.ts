// One SMTP client connection over node:net / node:tls: connect with a deadline, read
// replies and write commands with a deadline each, upgrade to TLS in place.
//
// Interface: connectTcp(target, timeoutMs) -> Promise<ConnectResult>;
// new SmtpConnection(socket, timeoutMs): read(), write(data), startTls(opts, check?), quit().
// Failures: read/write/upgrade throw ConnectionLost (kind 'timeout' | 'closed' |
// 'protocol' | 'tls'); transaction.ts catches it at its boundary and turns it into
// qmail's temporary "Connected to <ip> but connection died" outcome: inside this module
// a lost connection is control flow, outside it is a value.
// Guarantees: every read and write is bounded by timeoutremote; a write waits for
// 'drain' when the socket buffer is full (backpressure); replies received before
// STARTTLS completes are discarded after it (no plaintext response injection, RFC 3207
// §6); the socket is destroyed on any failure, so nothing leaks.

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ReplyParser, type Reply } from './reply.js';

export type LostKind = 'timeout' | 'closed' | 'protocol' | 'tls';

export class ConnectionLost extends Error {
  constructor(readonly kind: LostKind, message: string) {
    super(message);
  }
}

/** Shared: closing our own side needs no stack trace. */
const CLOSED_BY_US = new ConnectionLost('closed', 'closed by us');

export type ConnectResult =
  | { readonly kind: 'connected'; readonly socket: Socket }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'failed'; readonly code: string };

/** Opens a TCP connection to the target's ip and port within timeoutMs. */
export function connectTcp(target: { ip: string; port: number; family: 4 | 6 }, timeoutMs: number): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: target.ip, port: target.port, family: target.family });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ kind: 'timeout' });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      // SmtpConnection attaches its own handler; this one keeps an error in between harmless.
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve({ kind: 'connected', socket });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ kind: 'failed', code: err.code ?? err.message });
    });
  });
}

export class SmtpConnection {
  #socket: Socket | TLSSocket;
  #parser = new ReplyParser();
  #replies: Reply[] = [];
  #lost: ConnectionLost | undefined;
  /** The certificate passed startTls's check (DANE) instead of PKIX verification. */
  #checked = false;
  readonly #waiters = new Set<() => void>();
  readonly #timeoutMs: number;

  constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#attach(socket);
  }

  /** False once the connection is lost or closed. */
  get alive(): boolean {
    return this.#lost === undefined;
  }

  /** An idle connection must not keep the process alive; a busy one must. */
  setIdle(idle: boolean): void {
    if (idle) this.#socket.unref();
    else this.#socket.ref();
  }

  /** True once the connection runs over TLS. */
  get secure(): boolean {
    return 'encrypted' in this.#socket && this.#socket.encrypted === true;
  }

  /** True once the connection runs over TLS with a certificate that verified (PKIX or DANE). */
  get verified(): boolean {
    const s = this.#socket;
    return 'encrypted' in s && s.encrypted === true && (s.authorized || this.#checked);
  }

  /** What the delivery log records about TLS: none, or the protocol and whether the certificate verified. */
  get tls(): string {
    const s = this.#socket;
    if (!('encrypted' in s) || s.encrypted !== true) return 'none';
    if (this.#checked) return `${s.getProtocol() ?? 'TLS'} verified (DANE)`;
    return `${s.getProtocol() ?? 'TLS'} ${s.authorized ? 'verified' : `unverified (${String(s.authorizationError)})`}`;
  }

  /** The next reply from the server. */
  async read(): Promise<Reply> {
    for (;;) {
      const reply = this.#replies.shift();
      if (reply) return reply;
      if (this.#lost) throw this.#lost;
      await this.#wait('waiting for a reply', () => this.#replies.length > 0);
    }
  }

  /** Writes a command or body chunk; waits for 'drain' when the socket is backed up. */
  async write(data: string | Buffer): Promise<void> {
    if (this.#lost) throw this.#lost;
    if (this.#socket.write(data)) return;
    let drained = false;
    this.#socket.once('drain', () => { drained = true; this.#notify(); });
    await this.#wait('writing', () => drained);
    if (this.#lost) throw this.#lost;
  }

  /** Upgrades to TLS after a 220 to STARTTLS; throws ConnectionLost('tls') on failure.
   * `check` judges the server's certificates once the handshake is done (DANE: dane-match.ts):
   * a reason ends the connection before anything is sent over it. */
  async startTls(options: ConnectionOptions, check?: (socket: TLSSocket) => string | undefined): Promise<void> {
    const plain = this.#socket;
    plain.removeAllListeners('data');
    this.#replies = [];
    this.#parser = new ReplyParser();
    const secure = tlsConnect({ ...options, socket: plain });
    this.#socket = secure;
    this.#attach(secure);
    let up = false;
    secure.once('secureConnect', () => { up = true; this.#notify(); });
    await this.#wait('TLS handshake', () => up);
    if (this.#lost) throw new ConnectionLost('tls', `TLS handshake failed: ${this.#lost.message}`);
    const refused = check?.(secure);
    if (refused !== undefined) {
      this.#fail('tls', refused);
      throw new ConnectionLost('tls', refused);
    }
    this.#checked = check !== undefined;
  }

  /** Sends QUIT without waiting for the answer (qmail), then closes. */
  quit(): void {
    if (!this.#lost) this.#socket.end('QUIT\r\n');
    this.#lost ??= CLOSED_BY_US;
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  /** Destroys the connection at once. */
  destroy(): void {
    this.#fail('closed', 'closed by us');
  }

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail('closed', err.message));
    socket.on('close', () => this.#fail('closed', 'connection closed'));
  }

  #onData(chunk: Buffer): void {
    const { replies, error } = this.#parser.feed(chunk);
    this.#replies.push(...replies);
    if (error) this.#fail('protocol', error);
    this.#notify();
  }

  /** Records the first loss only (later 'close' events after an error change nothing). */
  #fail(kind: LostKind, message: string): void {
    this.#lost ??= new ConnectionLost(kind, message);
    this.#socket.destroy();
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves once `ready()` holds or the connection is lost; a timeout loses it. */
  #wait(what: string, ready: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ready() && !this.#lost) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => this.#fail('timeout', `timed out ${what}`), this.#timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}
