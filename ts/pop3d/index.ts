// The POP3 service: listeners on the configured addresses, each connection a session.
//
// Interface: startPop3d(settings, deps) -> Promise<Pop3Server> with addresses (the
// bound host:port of every listener, plain and TLS), setTls(), relisten() and close().
// Listeners: settings.listen (plain, STLS offered when settings.tls is set) and
// settings.listenTls (implicit TLS, "pop3s", RFC 8314); port 0 picks a free port.
// Limits: maxConnections in total and maxConnectionsPerIp per client address; over a
// limit the client gets "-ERR [SYS/TEMP] ..." and the connection is closed.
// Reload: relisten(listen, listenTls) opens the listeners it adds and closes those it
// drops (sessions on them go on): ts/net/listeners.ts.
// Failures: a listener that cannot bind (address in use, no permission) rejects the
// returned promise after closing the listeners already bound (a start-up error), and
// rejects relisten() after opening every other one.
// Guarantees: close() stops accepting, drops every open session without applying its
// deletions, and resolves once every mailbox lock is released.

import { createServer, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { Listeners } from '../net/listeners.js';
import { ConnectionCounter, FailureTracker } from './limits.js';
import { DEFAULT_POP3, parseListen, type Pop3Settings } from './settings.js';
import { startSession, type Pop3Deps, type SessionContext } from './session.js';

export type { Pop3Settings } from './settings.js';
export type { Pop3Deps, Pop3Log } from './session.js';
export type { MaildropStore, WireChunks } from './store.js';
export { DEFAULT_POP3 } from './settings.js';

export interface Pop3Address {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

export interface Pop3Server {
  readonly addresses: readonly Pop3Address[];
  /** A new certificate for the next TLS handshakes (pop3s and STLS). */
  setTls(context: SecureContext): void;
  /** Listens on exactly these addresses (see the header); needs TLS for pop3s ones. */
  relisten(listen: readonly string[], listenTls: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the POP3 listeners; `settings` fields left out take DEFAULT_POP3's values. */
export async function startPop3d(partial: Partial<Pop3Settings>, deps: Pop3Deps): Promise<Pop3Server> {
  const settings: Pop3Settings = { ...DEFAULT_POP3, ...partial };
  if (settings.listenTls.length > 0 && !settings.tls) throw new Error('pop3s listeners need a TLS certificate and key');
  const tls = settings.tls && 'context' in settings.tls ? settings.tls : settings.tls ? createSecureContext(settings.tls) : undefined;
  const ctx: SessionContext = {
    settings,
    deps,
    tls,
    failures: new FailureTracker(settings.maxFailuresPerIp, settings.failureWindowMs),
    timestamp: bannerStamp(settings.hostname),
  };
  const service = new Service(ctx, new ConnectionCounter(settings.maxConnections, settings.maxConnectionsPerIp));
  try {
    await service.relisten(settings.listen, settings.listenTls);
  } catch (err) {
    await service.close();
    throw err;
  }
  return service;
}

/** RFC 1939 §7 timestamps: `<pid.time@host>`, unique per greeting (a counter is added). */
function bannerStamp(host: string): () => string {
  let seq = 0;
  return () => `<${process.pid}.${Math.floor(Date.now() / 1000)}.${seq++}@${host}>`;
}

type Pop3Kind = 'pop3' | 'pop3s';

class Service implements Pop3Server {
  private readonly listeners = new Listeners<Pop3Kind>(
    (kind) => createServer((socket) => this.accept(socket, kind === 'pop3s')),
    () => this.ctx.deps.log?.info({ event: 'pop3', addresses: this.addresses }, 'pop3: listening'),
  );
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Promise<void>>();

  constructor(
    private readonly ctx: SessionContext,
    private readonly counter: ConnectionCounter,
  ) {}

  get addresses(): Pop3Address[] {
    return this.listeners.addresses.map(({ kind, host, port }) => ({ host, port, tls: kind === 'pop3s' }));
  }

  setTls(context: SecureContext): void {
    if (this.ctx.tls) this.ctx.tls = context;
  }

  /** pop3s listeners take the certificate in force when each connection arrives. */
  async relisten(listen: readonly string[], listenTls: readonly string[]): Promise<void> {
    if (listenTls.length > 0 && !this.ctx.tls) throw new Error('pop3s listeners need a TLS certificate and key');
    const wanted = [
      ...listen.map((spec) => ({ kind: 'pop3' as const, addr: parseListen(spec) })),
      ...listenTls.map((spec) => ({ kind: 'pop3s' as const, addr: parseListen(spec) })),
    ];
    await this.listeners.apply(wanted);
  }

  private accept(raw: Socket, implicitTls: boolean): void {
    const tls = implicitTls ? this.ctx.tls : undefined;
    const ip = raw.remoteAddress ?? 'unknown';
    raw.on('error', () => undefined);
    // Replies are written in pieces ("+OK", then message chunks): without this, Nagle's
    // algorithm and the client's delayed ACK add ~40 ms to every RETR round trip.
    raw.setNoDelay(true);
    const verdict = this.counter.enter(ip);
    const socket = tls ? new TLSSocket(raw, { isServer: true, secureContext: tls }) : raw;
    if (verdict !== 'ok') {
      socket.on('error', () => undefined);
      socket.end(`-ERR [SYS/TEMP] too many connections${verdict === 'ip' ? ' from your address' : ''}\r\n`);
      return;
    }
    this.sockets.add(socket);
    const session = startSession(socket, this.ctx).finally(() => {
      this.counter.leave(ip);
      this.sockets.delete(socket);
      this.sessions.delete(session);
    });
    this.sessions.add(session);
  }

  async close(): Promise<void> {
    const closing = this.listeners.close();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([closing, ...this.sessions]);
  }
}
