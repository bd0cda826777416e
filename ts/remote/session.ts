// Opening an SMTP session on a connected socket: greeting, EHLO (HELO fallback),
// STARTTLS per policy, AUTH to a smarthost.
//
// Interface: openSession(conn, ip, policy) -> Setup.
//   ready       the session can start mail transactions (ext = what the server offers)
//   failed      an SMTP-level answer ended the attempt (qmail: final, no next address)
//   tls-failed  the TLS handshake failed; the caller goes plaintext or moves on
//   skip        TLS is required and this server cannot give it: try the next address
// TLS policy: 'opportunistic' tries STARTTLS when offered and tolerates certificate
// errors (an unverified encrypted channel beats plaintext); 'required'
// (control/tlsrequired) verifies the certificate against the MX name and never sends in
// clear; 'dane' (usable TLSA records, RFC 7672) is 'required' with the certificates matched
// against the TLSA records instead of PKIX; 'off' for hosts remembered as failing the
// handshake (plaintext-memory.ts).
// A 4xx/5xx to STARTTLS continues in plaintext unless TLS is required (RFC 3207 §4).
// ConnectionLost propagates: the caller reports "connection died".

import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { Failure } from '../outcome.js';
import { authenticate } from './auth.js';
import { ConnectionLost, type SmtpConnection } from './connection.js';
import { NO_EXTENSIONS, parseEhlo, type Extensions } from './ehlo.js';
import { report } from './reports.js';
import type { RemoteAuth } from './settings.js';

export type TlsMode = 'opportunistic' | 'required' | 'dane' | 'off';

export interface SessionPolicy {
  readonly helohost: string;
  readonly tls: TlsMode;
  readonly tlsOptions: ConnectionOptions;
  /** 'dane': judges the certificates after the handshake (dane-match.ts), instead of PKIX. */
  readonly check?: (socket: TLSSocket) => string | undefined;
  readonly auth: RemoteAuth | undefined;
  /** The peer is a loopback address: AUTH may go without TLS. */
  readonly loopback: boolean;
}

export type Setup =
  | { readonly kind: 'ready'; readonly ext: Extensions }
  | { readonly kind: 'failed'; readonly failure: Failure }
  | { readonly kind: 'tls-failed'; readonly failure: Failure }
  | { readonly kind: 'skip'; readonly failure: Failure };

/** EHLO, or HELO when EHLO is refused; a Failure when both are. */
async function hello(conn: SmtpConnection, ip: string, helohost: string): Promise<Extensions | Failure> {
  await conn.write(`EHLO ${helohost}\r\n`);
  const ehlo = await conn.read();
  if (ehlo.code >= 200 && ehlo.code < 300) return parseEhlo(ehlo);
  await conn.write(`HELO ${helohost}\r\n`);
  const helo = await conn.read();
  return helo.code >= 200 && helo.code < 300 ? NO_EXTENSIONS : report.heloRejected(ip, helo);
}

const isFailure = (x: Extensions | Failure): x is Failure => 'kind' in x;

/** Greets, negotiates TLS and authenticates. */
export async function openSession(conn: SmtpConnection, ip: string, policy: SessionPolicy): Promise<Setup> {
  const greeting = await conn.read();
  if (greeting.code !== 220) return { kind: 'failed', failure: report.greetingFailed(ip, greeting) };
  let ext = await hello(conn, ip, policy.helohost);
  if (isFailure(ext)) return { kind: 'failed', failure: ext };
  if (policy.tls !== 'off') {
    const tls = await startTls(conn, ip, ext, policy);
    if (tls) return tls;
    if (conn.secure) ext = await hello(conn, ip, policy.helohost);
    if (isFailure(ext)) return { kind: 'failed', failure: ext };
  }
  if (policy.auth) {
    const failure = await authenticate(conn, ip, ext, policy.auth, policy.loopback);
    if (failure) return { kind: 'failed', failure };
  }
  return { kind: 'ready', ext };
}

/** STARTTLS when offered; a Setup only when the session cannot go on as it is. */
async function startTls(conn: SmtpConnection, ip: string, ext: Extensions, policy: SessionPolicy): Promise<Setup | undefined> {
  const required = policy.tls === 'required' || policy.tls === 'dane';
  if (!ext.startTls) return required ? { kind: 'skip', failure: report.tlsRequired(ip, 'does not offer STARTTLS') } : undefined;
  await conn.write('STARTTLS\r\n');
  const r = await conn.read();
  if (r.code !== 220) return required ? { kind: 'skip', failure: report.tlsRequired(ip, `refused STARTTLS (${r.code})`) } : undefined;
  try {
    await conn.startTls(policy.tlsOptions, policy.check);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    return { kind: 'tls-failed', failure: report.tlsFailed(ip, err.message) };
  }
}
