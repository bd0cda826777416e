// SMTP AUTH to a smarthost (RFC 4954, PLAIN RFC 4616, LOGIN): credentials from
// control/remoteauth for the relay named in control/smtproutes.
//
// Interface: authenticate(conn, ip, ext, creds, loopback) -> Failure | undefined.
// Failures (all temporary: credentials are our configuration, an admin fixes them; a
// permanent class would bounce every message for the smarthost's mistake or ours):
//   connection not encrypted and not loopback -> temp 4.7.0 (credentials never go out in clear)
//   neither PLAIN nor LOGIN offered           -> temp 4.7.0
//   server rejects (4xx/5xx)                  -> temp, the server's status if 4.x.x else 4.7.0
// ConnectionLost propagates (transaction boundary handles it).

import type { Failure } from '../outcome.js';
import type { SmtpConnection } from './connection.js';
import type { Extensions } from './ehlo.js';
import type { Reply } from './reply.js';
import { report } from './reports.js';
import type { RemoteAuth } from './settings.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

async function send(conn: SmtpConnection, line: string): Promise<Reply> {
  await conn.write(`${line}\r\n`);
  return conn.read();
}

/** Authenticates with PLAIN (preferred) or LOGIN; undefined on success. */
export async function authenticate(conn: SmtpConnection, ip: string, ext: Extensions, creds: RemoteAuth, loopback: boolean): Promise<Failure | undefined> {
  if (!conn.secure && !loopback) return report.authImpossible(ip, 'the connection is not encrypted');
  if (ext.auth.includes('PLAIN')) {
    const r = await send(conn, `AUTH PLAIN ${b64(`\0${creds.user}\0${creds.password}`)}`);
    return r.code === 235 ? undefined : report.authRejected(ip, r);
  }
  if (ext.auth.includes('LOGIN')) {
    for (const step of ['AUTH LOGIN', b64(creds.user)]) {
      const r = await send(conn, step);
      if (r.code !== 334) return report.authRejected(ip, r);
    }
    const r = await send(conn, b64(creds.password));
    return r.code === 235 ? undefined : report.authRejected(ip, r);
  }
  return report.authImpossible(ip, 'it offers neither AUTH PLAIN nor AUTH LOGIN');
}
