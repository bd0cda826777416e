// Matching a server's certificate chain against its TLSA records (RFC 6698 §2.1, RFC 7671,
// RFC 7672 §3), after a TLS handshake made without PKIX verification.
//
// Interface: daneMismatch(chain, tlsa, names, now?) -> undefined when the chain matches, else
// why not (one line). chain is the server's certificates as sent, leaf first (DER);
// peerChain(socket) reads it from a TLSSocket.
//   DANE-EE(3)  the leaf matches a record; names and validity dates are not checked (§3.1.1)
//   DANE-TA(2)  a certificate the server sent above the leaf matches a record, each
//               certificate below it is issued and signed by the next one, all of them are
//               within their validity dates, and the leaf is valid for one of `names` (the
//               MX host name, the TLSA base domain; a wildcard in the leftmost label only) (§3.2)
// Selector 0 = the whole certificate, 1 = its SubjectPublicKeyInfo; matching type 0 = the
// bytes, 1 = SHA-256, 2 = SHA-512.
// Not done: a DANE-TA(2) 2 1 0 record naming a trust anchor's public key that the server does
// not send (RFC 7671 §5.2.2 asks servers to send it).
// Failures: none thrown: unparsable certificates are a mismatch.

import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Tlsa } from './dane.js';

/** The certificates the server sent, leaf first, as DER. */
export function peerChain(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c = socket.getPeerCertificate(true) as { raw?: Buffer; issuerCertificate?: unknown } | undefined;
  // Node links the chain as sent; the last certificate points to itself (or to nothing).
  while (c?.raw && out.length < 16 && !out.some((b) => b.equals(c!.raw!))) {
    out.push(c.raw);
    c = c.issuerCertificate as typeof c;
  }
  return out;
}

function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
}

/** True when `cert` is what record `t` names. */
export function matches(cert: X509Certificate, t: Tlsa): boolean {
  const bytes = selected(cert, t.selector);
  const got = t.matchingType === 0 ? bytes : createHash(t.matchingType === 1 ? 'sha256' : 'sha512').update(bytes).digest();
  return got.equals(t.data);
}

function current(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

/** Why chain[0..k] is not a valid path up to chain[k] for `names`, or undefined. */
function badPath(chain: readonly X509Certificate[], k: number, names: readonly string[], now: number): string | undefined {
  for (let i = 0; i < k; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) return `certificate ${i} is not signed by certificate ${i + 1}`;
  }
  for (let i = 0; i <= k; i++) if (!current(chain[i]!, now)) return `certificate ${i} is outside its validity dates`;
  const leaf = chain[0]!;
  if (!names.some((n) => leaf.checkHost(n, { multiLabelWildcards: false, partialWildcards: false }) !== undefined)) {
    return `the certificate is not valid for ${names.join(' or ')}`;
  }
  return undefined;
}

/** Undefined when the chain satisfies one of the TLSA records, else why it does not. */
export function daneMismatch(der: readonly Buffer[], tlsa: readonly Tlsa[], names: readonly string[], now = Date.now()): string | undefined {
  let chain: X509Certificate[];
  try {
    chain = der.map((d) => new X509Certificate(d));
  } catch {
    return 'the server sent a certificate that cannot be parsed';
  }
  if (chain.length === 0) return 'the server sent no certificate';
  if (tlsa.some((t) => t.usage === 3 && matches(chain[0]!, t))) return undefined;
  let why = 'no certificate of the server matches its TLSA records';
  for (let k = 1; k < chain.length; k++) {
    if (!tlsa.some((t) => t.usage === 2 && matches(chain[k]!, t))) continue;
    const bad = badPath(chain, k, names, now);
    if (!bad) return undefined;
    why = `DANE-TA: ${bad}`;
  }
  return why;
}
