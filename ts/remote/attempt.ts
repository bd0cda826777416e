// One delivery attempt to one address: connect (downed-host memory, connect timeout),
// open the session (TLS fallback), run the transactions, QUIT.
//
// Interface: tryTarget(target, job, ctx) -> { kind: 'done', results } | { kind: 'next', failure }.
// 'next' = this address could not be used (connect failed or timed out, skipped as down,
// TLS required but unavailable): the caller tries the next address. 'done' = an SMTP
// dialogue happened, and any SMTP-level answer is final for this attempt (qmail).
// TLS fallback: when an opportunistic handshake fails, the address is remembered as
// plaintext-only and reconnected at once without STARTTLS; under control/tlsrequired, or for
// a DANE host (usable TLSA records: the certificate must match them, dane-match.ts), a failed
// handshake or match moves on to the next address instead.
// Logs one line per session opened, with its TLS result (protocol, verified or not).
// Sessions: a completed session is kept idle for reuse (session-cache.ts); a reused one
// skips the greeting, EHLO, TLS and AUTH it already went through.
// Recipients go in batches of BATCH per transaction on the same connection (RFC 5321
// §4.5.3.1.8: servers must accept at least 100).

import { isIP } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { openWireStream } from '../native.js';
import { assertNever, type Failure, type Outcome } from '../outcome.js';
import { connectTcp, ConnectionLost, SmtpConnection } from './connection.js';
import { daneMismatch, peerChain } from './dane-match.js';
import type { Extensions } from './ehlo.js';
import type { RemoteLog } from './deliver.js';
import type { Target } from './mx.js';
import type { PlaintextHosts } from './plaintext-memory.js';
import { report } from './reports.js';
import type { SessionCache } from './session-cache.js';
import { openSession, type SessionPolicy, type Setup, type TlsMode } from './session.js';
import type { RemoteAuth } from './settings.js';
import type { DownedHosts } from './tcpto.js';
import type { TlsFailureType } from './tls-report.js';
import { runTransaction } from './transaction.js';

export const BATCH = 100;

export interface AttemptJob {
  readonly bodyPath: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly size: number;
  readonly tlsRequired: boolean;
  readonly auth: RemoteAuth | undefined;
  /** Told how TLS went for each session set up (MTA-STS domains: TLS-RPT). */
  readonly tlsReport?: (target: Target, result: 'success' | TlsFailureType) => void;
}

export interface AttemptContext {
  readonly helohost: string;
  readonly timeoutConnectMs: number;
  readonly timeoutRemoteMs: number;
  readonly tlsCa: string | Buffer | undefined;
  readonly downed: DownedHosts;
  readonly plaintext: PlaintextHosts;
  /** Open connections, so that close() can end them. */
  readonly open: Set<SmtpConnection>;
  readonly sessions: SessionCache;
  readonly log: RemoteLog | undefined;
}

export type AttemptResult =
  | { readonly kind: 'done'; readonly results: Outcome<string>[] }
  | { readonly kind: 'next'; readonly failure: Failure };

const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');

/** Delivers to one address, or says why the next one should be tried. */
export async function tryTarget(target: Target, job: AttemptJob, ctx: AttemptContext): Promise<AttemptResult> {
  if (ctx.downed.isDown(target.ip)) return { kind: 'next', failure: report.noConnection(`${target.ip} is down: recent connect timeouts`) };
  const first = await connectAndRun(target, job, ctx, tlsMode(target, job, ctx));
  if (first.kind !== 'tls-failed') return first;
  if (job.tlsRequired || target.tlsa) return { kind: 'next', failure: first.failure };
  ctx.plaintext.remember(target.ip);
  const again = await connectAndRun(target, job, ctx, 'off');
  return again.kind === 'tls-failed' ? { kind: 'next', failure: again.failure } : again;
}

function tlsMode(target: Target, job: AttemptJob, ctx: AttemptContext): TlsMode {
  if (target.tlsa) return 'dane';
  if (job.tlsRequired) return 'required';
  return ctx.plaintext.isPlaintext(target.ip) ? 'off' : 'opportunistic';
}

type RunResult = AttemptResult | { readonly kind: 'tls-failed'; readonly failure: Failure };

/** Everything a session was set up with: only an identical setup may reuse it. */
function sessionKey(target: Target, job: AttemptJob, ctx: AttemptContext, tls: TlsMode): string {
  return [target.ip, target.port, target.host, tls, job.auth?.relay ?? '', job.auth?.user ?? '', ctx.helohost].join('|');
}

async function connectAndRun(target: Target, job: AttemptJob, ctx: AttemptContext, tls: TlsMode): Promise<RunResult> {
  const key = sessionKey(target, job, ctx, tls);
  const idle = await ctx.sessions.take(key);
  if (idle) return deliverOn(idle.conn, idle.ext, key, target, job, ctx);
  const c = await connectTcp(target, ctx.timeoutConnectMs);
  if (c.kind === 'timeout') {
    ctx.downed.timedOut(target.ip);
    return { kind: 'next', failure: report.noConnection(`connecting to ${target.ip} timed out`) };
  }
  ctx.downed.reached(target.ip);
  if (c.kind === 'failed') return { kind: 'next', failure: report.noConnection(`${target.ip}: ${c.code}`) };
  const conn = new SmtpConnection(c.socket, ctx.timeoutRemoteMs);
  ctx.open.add(conn);
  const setup = await setUp(conn, target, job, ctx, tls).finally(() => ctx.open.delete(conn));
  reportTls(job, target, setup.kind, conn);
  if (setup.kind === 'ready') {
    ctx.log?.info({ ip: target.ip, host: target.host, tls: conn.tls, auth: job.auth !== undefined }, 'remote: session open');
    return deliverOn(conn, setup.ext, key, target, job, ctx);
  }
  conn.quit();
  const all = (f: Failure): AttemptResult => ({ kind: 'done', results: job.recipients.map(() => f) });
  switch (setup.kind) {
    case 'failed': return all(setup.failure);
    case 'skip': return { kind: 'next', failure: setup.failure };
    case 'tls-failed': return setup;
    default: return assertNever(setup);
  }
}

/** TLS-RPT's view of a session setup. */
function reportTls(job: AttemptJob, target: Target, setup: Setup['kind'], conn: SmtpConnection): void {
  if (!job.tlsReport) return;
  if (setup === 'ready') job.tlsReport(target, conn.verified ? 'success' : conn.secure ? 'certificate-not-trusted' : 'starttls-not-supported');
  else if (setup === 'skip') job.tlsReport(target, 'starttls-not-supported');
  else if (setup === 'tls-failed') job.tlsReport(target, target.tlsa ? 'validation-failure' : 'certificate-not-trusted');
}

function policyFor(target: Target, job: AttemptJob, ctx: AttemptContext, tls: TlsMode): SessionPolicy {
  const tlsOptions: ConnectionOptions = {
    rejectUnauthorized: tls === 'required',
    ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
    ...(ctx.tlsCa !== undefined ? { ca: ctx.tlsCa } : {}),
  };
  const tlsa = target.tlsa;
  const check = tls === 'dane' && tlsa
    ? (socket: TLSSocket) => { const why = daneMismatch(peerChain(socket), tlsa, [target.host]); return why && `DANE: ${why}`; }
    : undefined;
  return { helohost: ctx.helohost, tls, tlsOptions, auth: job.auth, loopback: isLoopback(target.ip), ...(check ? { check } : {}) };
}

/** Greeting, EHLO, TLS, AUTH; a connection lost meanwhile is a failed setup ("connection died"). */
async function setUp(conn: SmtpConnection, target: Target, job: AttemptJob, ctx: AttemptContext, tls: TlsMode): Promise<Setup> {
  try {
    return await openSession(conn, target.ip, policyFor(target, job, ctx, tls));
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    return { kind: 'failed', failure: report.died(target.ip, false, err.message) };
  }
}

/** Runs the transactions on a ready session, then keeps it idle for reuse (or QUITs it). */
async function deliverOn(conn: SmtpConnection, ext: Extensions, key: string, target: Target, job: AttemptJob, ctx: AttemptContext): Promise<AttemptResult> {
  ctx.open.add(conn);
  let results: Outcome<string>[] | undefined;
  try {
    results = await runBatches(conn, target.ip, ext, job);
    return { kind: 'done', results };
  } finally {
    ctx.open.delete(conn);
    if (results) ctx.sessions.put(key, { conn, ext });
    else conn.destroy();
  }
}

async function runBatches(conn: SmtpConnection, ip: string, ext: Extensions, job: AttemptJob): Promise<Outcome<string>[]> {
  const results: Outcome<string>[] = [];
  for (let from = 0; from < job.recipients.length; from += BATCH) {
    const recipients = job.recipients.slice(from, from + BATCH);
    const stream = openWireStream(job.bodyPath);
    if (stream.kind !== 'ok') {
      results.push(...recipients.map(() => stream));
      continue;
    }
    const mail = { sender: job.sender, recipients, size: job.size, stream: stream.value, reset: from > 0 };
    results.push(...await runTransaction(conn, ip, ext, mail));
  }
  return results;
}
