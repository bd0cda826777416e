// startSmtpd: the SMTP listeners (smtp, submission, implicit-TLS smtps; IPv4 and IPv6),
// connection admission (deny list 554, total and per-IP limits 421 4.7.0), and graceful
// shutdown. Each admitted connection gets an SmtpConnection (connection.ts); on smtps
// listeners the TLS handshake runs on the admitted socket (30 s limit), so the deny list
// and the per-IP limit apply before any TLS work.
//
// ETRN: one Etrn (etrn.ts) per server, so its one-flush-per-domain rule spans connections;
// routes are read from the current rules at each request (SIGHUP applies at once).
// Reload: update() applies new rules to new connections, then opens the listeners the new
// settings name and closes the others (sessions accepted on a closed one go on).
// Failures: a listen error (address in use, bad address) rejects startSmtpd after closing
// what was opened, and rejects update() after opening every listener it could; smtps
// without TLS settings and bad network lists (networks.ts) throw, changing nothing.
// Guarantee: close() stops accepting at once, lets messages in the middle of their body
// finish for up to shutdownGraceMs, says 421 4.3.2 to idle sessions, then destroys the rest.

import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { NativeSmtpSettings } from '../native.js';
import { SmtpConnection } from './connection.js';
import { createEtrn, type Etrn, type EtrnRequest } from './etrn.js';
import { networkList, type NetworkList } from './networks.js';
import type { Policy } from './policy.js';
import { loadTls } from './tls.js';
import { Listeners, type Wanted } from '../net/listeners.js';
import type { ListenerKind, SmtpdDeps, SmtpdHandle, SmtpdSettings } from './types.js';

const HANDSHAKE_MS = 30_000;

/** What admission and new sessions follow; replaced whole by update() (SIGHUP). */
interface Rules {
  readonly settings: SmtpdSettings;
  readonly policy: Policy;
  readonly relay: NetworkList;
  readonly deny: NetworkList;
}

interface Admission extends Rules {
  readonly deps: SmtpdDeps;
  /** Replaced by update() (SIGHUP): a renewed certificate serves the next handshakes. */
  secureContext?: SecureContext;
  readonly conns: Set<SmtpConnection>;
  readonly etrn?: Etrn;
  readonly perIp: Map<string, number>;
  draining: boolean;
}

type ListenSettings = Pick<SmtpdSettings, ListenerKind>;

/** Starts every configured listener; resolves once all are bound. */
export async function startSmtpd(settings: SmtpdSettings, deps: SmtpdDeps): Promise<SmtpdHandle> {
  const secureContext = settings.tls ? loadTls(settings.tls, settings.hostname, deps.log) : undefined;
  if ((settings.smtps?.length ?? 0) > 0 && !secureContext) throw new Error('smtps listeners need TLS settings');
  const a: Admission = {
    ...rules(settings, deps),
    deps,
    secureContext,
    conns: new Set(),
    ...(deps.etrn ? { etrn: createEtrn(deps.etrn, deps.log) } : {}),
    perIp: new Map(),
    draining: false,
  };
  const listeners = new Listeners<ListenerKind>((kind) => makeServer(a, kind), (addresses) => deps.log?.info({ addresses }, 'smtpd listening'));
  try {
    await listeners.apply(wantedOf(settings));
  } catch (err) {
    await listeners.close();
    throw err;
  }
  // Listeners read `a` at each connection, so an update reaches new connections only.
  // The certificate is read again first: a bad one throws before anything changes.
  // A kind of listener left out of `next` stays as it is.
  let listening: ListenSettings = settings;
  const update = async (next: SmtpdSettings): Promise<void> => {
    const tls = next.tls ?? settings.tls;
    const context = tls && a.secureContext ? loadTls(tls, next.hostname, deps.log) : a.secureContext;
    const wanted = { smtp: next.smtp ?? listening.smtp, submission: next.submission ?? listening.submission, smtps: next.smtps ?? listening.smtps };
    if ((wanted.smtps?.length ?? 0) > 0 && !context) throw new Error('smtps listeners need TLS settings');
    Object.assign(a, rules({ ...next, tls }, deps), { secureContext: context });
    if (a.draining) return;
    listening = wanted;
    await listeners.apply(wantedOf(wanted));
  };
  return {
    get addresses() {
      return listeners.addresses;
    },
    update,
    close: () => shutdown(a, listeners),
  };
}

function wantedOf(settings: ListenSettings): Wanted<ListenerKind>[] {
  return (['smtp', 'submission', 'smtps'] as const).flatMap((kind) => (settings[kind] ?? []).map((addr) => ({ kind, addr })));
}

function rules(settings: SmtpdSettings, deps: SmtpdDeps): Rules {
  return {
    settings,
    policy: { rcpthosts: settings.rcpthosts, badmailfrom: settings.badmailfrom ?? [], validateRecipient: deps.validateRecipient, checkPassword: deps.checkPassword },
    relay: networkList(settings.relayClients ?? ['127.0.0.1', '::1']),
    deny: networkList(settings.deny ?? []),
  };
}

function makeServer(a: Admission, kind: ListenerKind): Server {
  return createServer({ noDelay: true }, (socket) => admit(a, socket, kind));
}

/** Implicit TLS: the handshake runs on the admitted socket (limits apply before it). */
function secured(a: Admission, socket: Socket, start: (s: Socket) => void): void {
  const secure = new TLSSocket(socket, { isServer: true, secureContext: a.secureContext });
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_MS);
  secure.on('error', () => socket.destroy());
  secure.once('secure', () => {
    clearTimeout(timer);
    start(secure);
  });
}

function nativeSettings(a: Admission, kind: ListenerKind): NativeSmtpSettings {
  const s = a.settings;
  return {
    hostname: s.hostname,
    databytes: s.databytes ?? 0,
    maxRcpts: s.maxRcpts ?? 100,
    maxErrors: s.maxErrors ?? 20,
    maxTextLine: s.maxTextLine ?? 1000,
    starttls: a.secureContext !== undefined && kind !== 'smtps',
    tls: kind === 'smtps',
    auth: a.deps.checkPassword !== undefined,
    authWithoutTls: s.authWithoutTls ?? false,
    chunking: s.chunking ?? true,
    etrn: a.etrn !== undefined && (s.etrn?.length ?? 0) > 0,
  };
}

function admit(a: Admission, socket: Socket, kind: ListenerKind): void {
  socket.on('error', () => undefined);
  const ip = socket.remoteAddress ?? 'unknown';
  if (a.deny.has(ip)) return void socket.end('554 5.7.1 connection refused\r\n');
  if (a.draining) return void socket.end('421 4.3.2 service shutting down\r\n');
  const mine = a.perIp.get(ip) ?? 0;
  if (a.conns.size >= (a.settings.maxConnections ?? 200) || mine >= (a.settings.maxPerIp ?? 20)) {
    return void socket.end('421 4.7.0 too many connections, try again later\r\n');
  }
  a.perIp.set(ip, mine + 1);
  let released = false;
  // Called by the session's close and, for smtps, by the raw socket's: counted once.
  const release = (conn?: SmtpConnection) => {
    if (conn) a.conns.delete(conn);
    if (released) return;
    released = true;
    const n = (a.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) a.perIp.delete(ip);
    else a.perIp.set(ip, n);
  };
  if (kind !== 'smtps') return run(a, socket, kind, ip, release);
  socket.once('close', () => release());
  secured(a, socket, (secure) => run(a, secure, kind, ip, release));
}

function run(a: Admission, socket: Socket, kind: ListenerKind, ip: string, release: (c: SmtpConnection) => void): void {
  const conn: SmtpConnection = new SmtpConnection(socket, {
    kind,
    policy: a.policy,
    native: nativeSettings(a, kind),
    queueRoot: a.deps.queue.root,
    secureContext: a.secureContext,
    relayClient: a.relay.has(ip),
    timeoutMs: a.settings.timeoutMs ?? 1_200_000,
    authFailDelayMs: a.settings.authFailDelayMs ?? 1_000,
    sessionLimitMs: a.settings.sessionLimitMs ?? 3_600_000,
    onQueued: a.deps.onQueued,
    planDirect: a.deps.planDirect,
    onDelivered: a.deps.onDelivered,
    ...(a.etrn ? { etrn: (r: EtrnRequest) => a.etrn!.decide(r, a.settings.etrn ?? []) } : {}),
    onClose: () => release(conn),
    log: a.deps.log,
    now: a.deps.now ?? (() => new Date()),
  });
  a.conns.add(conn);
  conn.start();
}

async function shutdown(a: Admission, listeners: Listeners<ListenerKind>): Promise<void> {
  a.draining = true;
  const closed = listeners.close();
  for (const c of a.conns) c.drain();
  const deadline = Date.now() + (a.settings.shutdownGraceMs ?? 10_000);
  while (a.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const c of a.conns) c.destroy();
  await closed;
  // A flush cut short by the exit loses nothing: a message leaves the maildir only after the peer's 250.
  if (a.etrn) await Promise.race([a.etrn.settle(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
}
