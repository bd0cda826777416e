// The TLS certificate for STARTTLS and implicit TLS: read from the configured PEM files
// (by Node for POP3: loadTls; by the SMTP core itself: ensureTlsFiles), or, when neither
// file exists, a self-signed pair generated there with the system's `openssl req` (logged
// as a warning: clients will not verify it).
//
// Failures: only one of the two files present, unreadable files, or openssl missing or
// failing -> throws with the reason (start-up error: the listener cannot run as asked).

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { SmtpdLog, SmtpdTls } from './types.js';

/** Loads (generating when missing) the certificate and key into a secure context. */
export function loadTls(tls: SmtpdTls, hostname: string, log?: SmtpdLog): SecureContext {
  ensureTlsFiles(tls, hostname, log);
  return createSecureContext({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: 'TLSv1.2' });
}

/** The certificate and key files, a self-signed pair generated there when both are missing
 *  (the SMTP core reads them itself). */
export function ensureTlsFiles(tls: SmtpdTls, hostname: string, log?: SmtpdLog): SmtpdTls {
  const haveCert = existsSync(tls.certFile);
  const haveKey = existsSync(tls.keyFile);
  if (haveCert !== haveKey) {
    throw new Error(`TLS: ${haveCert ? tls.keyFile : tls.certFile} is missing while the other file exists`);
  }
  if (!haveCert) generateSelfSigned(tls, hostname, log);
  return tls;
}

function generateSelfSigned(tls: SmtpdTls, hostname: string, log?: SmtpdLog): void {
  mkdirSync(dirname(tls.certFile), { recursive: true });
  mkdirSync(dirname(tls.keyFile), { recursive: true });
  const cn = hostname.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-subj', `/CN=${cn}`,
        '-addext', `subjectAltName=DNS:${cn}`, '-keyout', tls.keyFile, '-out', tls.certFile],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
  } catch (err) {
    throw new Error(`TLS: no certificate configured and generating one with openssl failed: ${(err as Error).message}`);
  }
  chmodSync(tls.keyFile, 0o600);
  log?.warn({ certFile: tls.certFile, keyFile: tls.keyFile, cn }, 'generated a SELF-SIGNED TLS certificate: replace it with a real one');
}
