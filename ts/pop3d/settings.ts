// POP3 service settings: the plain object startPop3d takes (ts/config maps control/
// files onto it: pop3listen, pop3slisten, pop3plaintext, checkpassword, tlscert/tlskey).
//
// Interface: Pop3Settings, DEFAULT_POP3, parseListen("ADDR:PORT" | "[v6]:PORT").
// Failures: a malformed listen address is a thrown Error (a broken configuration is a
// bug of the caller, found at start-up, not a mail failure).
// Guarantees: every limit has a finite default; the idle timeout is never below RFC
// 1939's 10 minutes unless `idleTimeoutMs` is set explicitly (tests).

import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { ListenAddress } from '../net/listeners.js';
export type { ListenAddress } from '../net/listeners.js';

export interface Pop3Settings {
  /** Plain POP3 listeners ("127.0.0.1:2110", "[::1]:2110"); STLS upgrades them. */
  readonly listen: readonly string[];
  /** Implicit-TLS (pop3s) listeners; need `tls`. */
  readonly listenTls: readonly string[];
  /** The host name in the APOP timestamp banner `<pid.time@host>`. */
  readonly hostname: string;
  /** Certificate and key (or a ready context); without them neither STLS nor pop3s is offered. */
  readonly tls?: SecureContextOptions | SecureContext;
  /** Allow USER/PASS on a connection without TLS (loopback testing; pop3plaintext). */
  readonly plaintext: boolean;
  /** checkpassword program and its arguments; when set it replaces users/passwd. */
  readonly checkpassword?: readonly string[];
  /** Idle time before the connection is dropped without applying deletions. */
  readonly idleTimeoutMs: number;
  /** Simultaneous connections, all clients together. */
  readonly maxConnections: number;
  /** Simultaneous connections from one IP address. */
  readonly maxConnectionsPerIp: number;
  /** Pause before answering a failed authentication. */
  readonly badPasswordDelayMs: number;
  /** Failed authentications an IP address may have within failureWindowMs. */
  readonly maxFailuresPerIp: number;
  readonly failureWindowMs: number;
  /** Authentication attempts allowed on one connection. */
  readonly maxAuthPerConnection: number;
  /** A mailbox lock not refreshed for this long is stale (see lock.ts). */
  readonly lockStaleMs: number;
  /** Longest a checkpassword program may run before it counts as a temporary failure. */
  readonly checkpasswordTimeoutMs: number;
}

/** RFC 1939 §3: an inactivity autologout timer of at least 10 minutes. */
export const RFC1939_IDLE_MS = 10 * 60 * 1000;

export const DEFAULT_POP3: Pop3Settings = {
  listen: ['127.0.0.1:2110'],
  listenTls: [],
  hostname: 'localhost',
  plaintext: false,
  idleTimeoutMs: RFC1939_IDLE_MS,
  maxConnections: 200,
  maxConnectionsPerIp: 20,
  badPasswordDelayMs: 2000,
  maxFailuresPerIp: 10,
  failureWindowMs: 15 * 60 * 1000,
  maxAuthPerConnection: 3,
  lockStaleMs: 5 * 60 * 1000,
  checkpasswordTimeoutMs: 30_000,
};

/** Parses "ADDR:PORT" or "[IPv6]:PORT"; port 0 asks the system for a free port. */
export function parseListen(spec: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`bad POP3 listen address "${spec}": want ADDR:PORT`);
  return { host: (m[1] ?? m[2]) as string, port };
}
