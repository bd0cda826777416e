// ARC sealing (RFC 8617) of mail that qmta sends on for someone else: list posts and forwards
// (dot-qmail & lines, the forward and condredirect helpers). The chain the message arrives with
// is verified, then one more ARC set (ARC-Seal, ARC-Message-Signature,
// ARC-Authentication-Results) is made with the sealing domain's key, through mailauth.
//
// Interface: arcSettings(config) -> ArcSettings | undefined (control/arcseal off);
// sealingQueue(queue, current) -> Queue (prepend-queue.ts) sealing every message added while
// current() gives settings and a keyring; arcSeal(message, settings, keyring, deps?) ->
// Outcome<string>, the ARC set's fields (LF line ends, '' when not sealed).
// What: cv= is the result of verifying the message's ARC chain (none, pass, fail); the
// ARC-Authentication-Results holds our authserv-id with the DKIM results of every signature
// and that ARC result, as verified when the message is sent on. Verified on the copy that
// leaves: forwards put only Delivered-To in front, lists their List-* fields and drop the
// Return-Path qmail-local added, none of which a signature made before us covers.
// The key: the first RSA key (RFC 8617 knows only rsa-sha256) that control/dkimkeys lists for
// the sealing domain (its own lines, else its nearest listed parent's); d= is that key's domain.
// Not sealed (''): a chain whose newest seal already says cv=fail (RFC 8617 §5.1.2), a chain of
// 50 sets, and a chain that failed while a DNS query failed temporarily (a cv=fail seal would
// end the chain for good over a passing DNS problem): the copy goes on unsealed, as before ARC.
// Failures: no RSA key for the sealing domain, or mailauth refusing the key -> temp 4.3.5 (a
// configuration problem: the message waits, as for DKIM); a read error -> temp 4.3.0.
// Bounds: DNS within control/authtimeout and 50 queries a message (ts/inbound's budget); the
// body is hashed as it streams, only the header section is held.

import { Readable } from 'node:stream';
import { arc, createSeal, dkimVerify, type DKIMVerifyResult } from 'mailauth';
import { budgeted } from '../inbound/data.js';
import { createAuthResolver, type AuthResolver } from '../inbound/settings.js';
import { ok, temp, type Outcome } from '../outcome.js';
import type { Queue } from '../queue/types.js';
import type { DkimKey, Keyring } from './keyring.js';
import { prependingQueue, type SpoolOptions } from './prepend-queue.js';

export interface ArcSettings {
  /** The domain whose key seals (control/arcseal: 1 = control/me, or a domain). */
  readonly domain: string;
  /** control/authservid: the authserv-id of the ARC-Authentication-Results. */
  readonly authservId: string;
  readonly dnsServers: readonly string[];
  /** control/authtimeout in ms: DNS time for verifying one message's chain. */
  readonly timeoutMs: number;
}

export interface ArcConfig {
  readonly arcseal: string;
  readonly authservid: string;
  readonly dnsservers: readonly string[];
  readonly authtimeout: number;
}

export interface ArcDeps {
  readonly resolver?: AuthResolver;
  readonly now?: () => number;
}

/** The sealing settings from a loaded configuration; undefined when control/arcseal is off. */
export function arcSettings(c: ArcConfig): ArcSettings | undefined {
  if (c.arcseal === '') return undefined;
  return { domain: c.arcseal, authservId: c.authservid, dnsServers: c.dnsservers, timeoutMs: c.authtimeout * 1000 };
}

/** `queue`, sealing every message added while current() gives settings. */
export function sealingQueue(queue: Queue, current: () => { settings: ArcSettings | undefined; keyring: Keyring }, deps: ArcDeps = {}, opts: SpoolOptions = {}): Queue {
  return prependingQueue(queue, () => {
    const { settings, keyring } = current();
    return settings ? (message) => arcSeal(message, settings, keyring, deps) : undefined;
  }, opts);
}

/** The sealing key: the first RSA key listed for the domain. */
function sealingKey(ring: Keyring, domain: string): Outcome<DkimKey> {
  const key = ring.forDomain(domain).find((k) => k.algorithm === 'rsa');
  return key ? ok(key) : temp('4.3.5', `ARC sealing as ${domain} needs an RSA key for it in control/dkimkeys`);
}

/** A resolver that remembers whether any query failed other than "no such record". */
function watched(base: AuthResolver): { resolver: AuthResolver; failed: () => boolean } {
  let failed = false;
  const resolver: AuthResolver = (name, type) => base(name, type).catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code !== 'ENOTFOUND' && code !== 'ENODATA') failed = true;
    throw err;
  });
  return { resolver, failed: () => failed };
}

async function drain(message: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of message);
}

/** The ARC set for `message`: its chain verified, then sealed as settings.domain. */
export async function arcSeal(message: AsyncIterable<Uint8Array>, s: ArcSettings, ring: Keyring, deps: ArcDeps = {}): Promise<Outcome<string>> {
  const key = sealingKey(ring, s.domain);
  if (key.kind !== 'ok') {
    await drain(message);
    return key;
  }
  const now = deps.now ?? Date.now;
  const dns = watched(budgeted(deps.resolver ?? createAuthResolver(s.dnsServers, s.timeoutMs), now() + s.timeoutMs, now));
  const seal = { signingDomain: key.value.domain, selector: key.value.selector, privateKey: key.value.pem, algorithm: 'rsa-sha256' };
  // The verifier also hashes the body for the seal (one pass) and hands over what it read.
  let verified: DKIMVerifyResult & { arc?: unknown; seal?: object };
  try {
    verified = await dkimVerify(Readable.from(message), { resolver: dns.resolver, strict: true, seal });
  } catch (err) {
    await drain(message).catch(() => undefined);
    return temp('4.3.0', `read error: ${err instanceof Error ? err.message : String(err)}`);
  }
  // mailauth's types describe the signer's ARC data; the verifier hands over the chain it read.
  const chain = await arc(verified.arc as Parameters<typeof arc>[0], { resolver: dns.resolver, strict: true } as Parameters<typeof arc>[1]);
  const cv = chain.status.result;
  const sealable = cv === 'none' || cv === 'pass' || (chain.status as { shouldSeal?: boolean }).shouldSeal === true;
  if (!sealable || (cv === 'fail' && dns.failed())) return ok('');
  const authResults = [s.authservId, ...verified.results.map((r) => r.info), chain.info].filter((x) => x).join(';\r\n\t');
  const made = await createSeal(false, {
    headers: verified.headers, arc: verified.arc as Parameters<typeof createSeal>[1]['arc'], strict: true,
    seal: { ...seal, ...verified.seal, cv, authResults, signTime: new Date(now()) },
  });
  if (made.headers.length === 0) return refused(made.errors, s.domain);
  return ok(`${made.headers.join('\r\n')}\r\n`.replace(/\r\n/g, '\n'));
}

/** Why no ARC set was made: a full chain is sent on unsealed; anything else is a key problem. */
function refused(errors: ReadonlyArray<{ err?: Error & { code?: string } }>, domain: string): Outcome<string> {
  const err = errors[0]?.err;
  if (err?.code === 'EINVALIDINSTANCE' || err?.code === 'EARCCHAINFAILED') return ok('');
  return temp('4.3.5', `ARC sealing as ${domain} failed: ${err?.message ?? 'unknown error'}`);
}
