// The DKIM signing keys of control/dkimkeys, loaded into memory once per configuration
// (start-up, SIGHUP), so that signing a message reads no file.
//
// Interface: loadKeyring(entries) -> Promise<Outcome<Keyring>>; keyring.forDomain(domain)
// -> the keys that sign mail of that domain: its own lines, else those of the nearest
// listed parent (mail from news.example.com is signed d=example.com: relaxed alignment);
// keyring.size; EMPTY_KEYRING.
// Failures: a key file missing or unreadable -> temp 4.3.5 naming it (qmta runs as the
// account the key belongs to; `qmta dkim keygen` makes it so); a file that is not a PEM
// private key, or a key other than RSA (>= 1024 bits, RFC 8301) or Ed25519 (RFC 8463)
// -> temp 4.3.5. Temporary: the admin fixes the file, mail waits.
// Guarantees: the key material stays in memory (never logged); entries keep their
// order, so the signatures of a domain come out in control-file order.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { DkimKeyEntry } from '../config/keys/auth.js';
import { ok, temp, type Outcome } from '../outcome.js';

export type DkimAlgorithm = 'rsa' | 'ed25519';

export interface DkimKey extends DkimKeyEntry {
  readonly algorithm: DkimAlgorithm;
  /** RSA modulus length; 256 for Ed25519. */
  readonly bits: number;
  /** The PEM text as read (mailauth parses it per signature). */
  readonly pem: Buffer;
  readonly key: KeyObject;
}

export interface Keyring {
  /** Number of keys. */
  readonly size: number;
  /** Every key, in control-file order. */
  readonly keys: readonly DkimKey[];
  /** The keys signing mail of `domain` (exact domain, else the nearest parent), [] for none. */
  forDomain(domain: string): readonly DkimKey[];
}

const MAX_KEY_BYTES = 64 * 1024;

/** A keyring over already loaded keys. */
export function keyringOf(keys: readonly DkimKey[]): Keyring {
  const byDomain = new Map<string, DkimKey[]>();
  for (const k of keys) byDomain.set(k.domain, [...(byDomain.get(k.domain) ?? []), k]);
  return {
    size: keys.length,
    keys,
    forDomain(domain) {
      const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
      for (let i = 0; i < labels.length - 1; i++) {
        const found = byDomain.get(labels.slice(i).join('.'));
        if (found) return found;
      }
      return [];
    },
  };
}

export const EMPTY_KEYRING: Keyring = keyringOf([]);

/** Reads and checks every key file named by control/dkimkeys. */
export async function loadKeyring(entries: readonly DkimKeyEntry[]): Promise<Outcome<Keyring>> {
  const keys: DkimKey[] = [];
  for (const e of entries) {
    const k = await loadKey(e);
    if (k.kind !== 'ok') return k;
    keys.push(k.value);
  }
  return ok(keyringOf(keys));
}

/** One key file, checked for type and size. */
export async function loadKey(e: DkimKeyEntry): Promise<Outcome<DkimKey>> {
  let pem: Buffer;
  try {
    pem = await readFile(e.path);
  } catch (err) {
    return temp('4.3.5', `DKIM key ${e.path} (${e.domain} ${e.selector}) is unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (pem.length > MAX_KEY_BYTES) return temp('4.3.5', `DKIM key ${e.path} is larger than ${MAX_KEY_BYTES} bytes`);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    return temp('4.3.5', `DKIM key ${e.path} is not a PEM private key: ${(err as Error).message}`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return ok({ ...e, algorithm: 'ed25519', bits: 256, pem, key });
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (type === 'rsa' && bits >= 1024) return ok({ ...e, algorithm: 'rsa', bits, pem, key });
  return temp('4.3.5', `DKIM key ${e.path} is ${type}${bits ? ` (${bits} bits)` : ''}: use RSA of 1024+ bits (2048 advised) or Ed25519`);
}
