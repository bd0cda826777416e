// One POP3 connection's transport: bounded command lines in, replies out with
// back-pressure, the STLS upgrade, and the idle timer.
//
// Interface: new Conn(socket, idleMs, onLine, onGone); write(data) (resolves once the
// socket accepts more); startTls(context) (upgrades in place); close().
// onLine(line) is awaited before the next line is handed over, so pipelined commands
// (RFC 2449 PIPELINING) run strictly in order and the socket is paused meanwhile.
// Guarantees:
// - STLS plaintext-injection rule (RFC 2595 §3.2 / CVE-2011-0411 class): every byte
//   received before the TLS handshake, including commands pipelined after STLS, is
//   thrown away.
// - idle timeout: the client sends nothing (and takes nothing) for idleMs while no
//   command of its is running -> the socket is destroyed without a reply (RFC 1939 §3:
//   no UPDATE state, nothing deleted).
// - onGone runs exactly once, whatever ends the connection.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { LineSplitter, type Line } from './lines.js';

export class Conn {
  private readonly splitter = new LineSplitter();
  private queue: Line[] = [];
  private running = false;
  private gone = false;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(
    private socket: Socket,
    private readonly idleMs: number,
    private readonly onLine: (line: Line) => Promise<void>,
    private readonly onGone: () => void,
  ) {
    this.attach();
  }

  get encrypted(): boolean {
    return this.socket instanceof TLSSocket;
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  /** Sends bytes; resolves when the socket can take more (back-pressure). */
  write(data: string | Buffer): Promise<void> {
    if (this.gone) return Promise.resolve();
    const chunk = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.socket.write(chunk)) return Promise.resolve();
    // A client that stops reading mid-reply is idle too: drop it after idleMs.
    const socket = this.socket;
    return new Promise((resolve) => {
      const stuck = setTimeout(() => socket.destroy(), this.idleMs);
      const done = (): void => {
        clearTimeout(stuck);
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('drain', done);
      socket.once('close', done);
    });
  }

  /** True once the peer is gone or close() ran. */
  get closed(): boolean {
    return this.gone;
  }

  /** Ends the connection after flushing what was written. */
  close(): void {
    this.queue = [];
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.queue = [];
    this.socket.destroy();
  }

  /**
   * Hands the connection to `peer` both ways (a session run as its mailbox owner, ts/lspawn):
   * lines received but not yet run go first; when either side closes, so does the other.
   */
  relay(peer: Socket): void {
    const held = Buffer.concat([...this.queue.filter((l): l is string => typeof l === 'string').map((l) => Buffer.from(`${l}\r\n`, 'latin1')), this.splitter.rest()]);
    this.queue = [];
    this.socket.off('data', this.onData);
    peer.on('error', () => undefined);
    if (held.length > 0) peer.write(held);
    this.socket.pipe(peer);
    peer.pipe(this.socket);
    peer.once('close', () => this.socket.destroy());
    this.socket.once('close', () => peer.destroy());
  }

  /** Replaces the plain socket with TLS; bytes read before this call are discarded. */
  startTls(context: SecureContext): Promise<void> {
    this.queue = [];
    this.splitter.reset();
    this.socket.off('data', this.onData);
    this.socket.removeAllListeners('timeout');
    this.socket.removeAllListeners('close');
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    this.socket = secure;
    this.attach();
    return new Promise((resolve) => {
      secure.once('secure', () => resolve());
      secure.once('close', () => resolve());
    });
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.setTimeout(this.idleMs);
    this.socket.on('timeout', () => this.socket.destroy());
    this.socket.on('error', () => undefined); // 'close' follows
    this.socket.once('close', () => this.end());
  }

  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.queue = [];
    this.onGone();
  }

  private receive(chunk: Buffer): void {
    this.queue.push(...this.splitter.push(chunk));
    if (!this.running && this.queue.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    for (let line = this.queue.shift(); line !== undefined && !this.gone; line = this.queue.shift()) {
      // The idle clock measures the client, not us: it stops while a command runs
      // (a login scan of a large maildrop, a slow disk) and restarts afterwards.
      const socket = this.socket; // (STLS replaces it during onLine)
      socket.pause();
      socket.setTimeout(0);
      await this.onLine(line);
      this.socket.setTimeout(this.idleMs);
    }
    this.running = false;
    if (!this.gone) this.socket.resume();
  }
}
