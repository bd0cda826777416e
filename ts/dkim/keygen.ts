// `qmta dkim keygen` and `qmta dkim show`: a new signing key for a domain, and what is
// configured, each with the DNS TXT record to publish.
//
// Interface: keygen(req) -> Promise<Outcome<KeygenResult>>; dnsRecord(key) -> the zone
// file line for a key; defaultSelector(algorithm, now).
// keygen writes HOME/control/dkim/DOMAIN.SELECTOR.key (PKCS#8 PEM, mode 0600 in a 0700
// folder; when run as root, both are given to the home's owner, the account qmta runs as),
// then appends `DOMAIN:SELECTOR:control/dkim/DOMAIN.SELECTOR.key` to control/dkimkeys
// (atomic rewrite). RSA keys are 2048 bits (RFC 8301 advises 2048; 4096-bit records do not
// fit the TXT strings many DNS panels take).
// Failures: a bad domain or selector, or a selector the domain already has -> perm 5.3.5
// (a usage error: exit 100); I/O -> temp 4.3.0 (exit 111). The key file is written before
// the control line, so a failure in between leaves an unused key file, never a line
// naming a missing file.

import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { chown, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDnsName, type DkimKeyEntry } from '../config/keys/auth.js';
import { ok, perm, temp, type Outcome } from '../outcome.js';
import { writeFileAtomic } from '../users/atomic-write.js';
import type { DkimAlgorithm } from './keyring.js';

export interface KeygenRequest {
  readonly home: string;
  readonly domain: string;
  readonly selector?: string;
  readonly algorithm: DkimAlgorithm;
  /** The configured entries (control/dkimkeys as loaded). */
  readonly existing: readonly DkimKeyEntry[];
  readonly now?: Date;
}

export interface KeygenResult {
  readonly entry: DkimKeyEntry;
  /** The TXT record to publish, as a zone file line. */
  readonly record: string;
}

/** rsaYYYYMM or edYYYYMM: dated, so a rotation's new selector never clashes with the old one. */
export function defaultSelector(algorithm: DkimAlgorithm, now: Date): string {
  return `${algorithm === 'rsa' ? 'rsa' : 'ed'}${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The public key as p= wants it: SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC 8463). */
function publicKeyData(key: KeyObject): { k: DkimAlgorithm; p: string } {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType === 'ed25519') return { k: 'ed25519', p: der.subarray(der.length - 32).toString('base64') };
  return { k: 'rsa', p: der.toString('base64') };
}

/** `SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )`, the value cut into 255-byte strings. */
export function dnsRecord(e: { domain: string; selector: string; key: KeyObject }): string {
  const { k, p } = publicKeyData(e.key);
  const value = `v=DKIM1; k=${k}; p=${p}`;
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) strings.push(`"${value.slice(i, i + 255)}"`);
  return `${e.selector}._domainkey.${e.domain}. IN TXT ( ${strings.join(' ')} )`;
}

function generate(algorithm: DkimAlgorithm): KeyObject {
  return algorithm === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : generateKeyPairSync('ed25519').privateKey;
}

/** Gives `paths` to the home's owner when running as root (the daemon's account must read them). */
async function giveToHomeOwner(home: string, paths: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const st = await stat(home);
  if (st.uid === 0) return;
  for (const p of paths) await chown(p, st.uid, st.gid);
}

/** Creates a key, adds it to control/dkimkeys and returns the record to publish. */
export async function keygen(req: KeygenRequest): Promise<Outcome<KeygenResult>> {
  const domain = req.domain.toLowerCase().replace(/\.$/, '');
  const selector = req.selector ?? defaultSelector(req.algorithm, req.now ?? new Date());
  if (!isDnsName(domain) || !domain.includes('.')) return perm('5.3.5', `bad domain "${req.domain}"`);
  if (!isDnsName(selector)) return perm('5.3.5', `bad selector "${selector}"`);
  if (req.existing.some((e) => e.domain === domain && e.selector === selector)) {
    return perm('5.3.5', `${domain} already has selector ${selector} in control/dkimkeys`);
  }
  const key = generate(req.algorithm);
  const dir = join(req.home, 'control', 'dkim');
  const file = `${domain}.${selector}.key`;
  const path = join(dir, file);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const written = await writeFileAtomic(path, key.export({ type: 'pkcs8', format: 'pem' }), 0o600);
    if (written.kind !== 'ok') return written;
    await giveToHomeOwner(req.home, [dir, path]);
    const added = await appendLine(join(req.home, 'control', 'dkimkeys'), `${domain}:${selector}:control/dkim/${file}`);
    if (added.kind !== 'ok') return added;
  } catch (err) {
    return temp('4.3.0', `unable to write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return ok({ entry: { domain, selector, path }, record: dnsRecord({ domain, selector, key }) });
}

async function appendLine(path: string, line: string): Promise<Outcome<void>> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== '' && !text.endsWith('\n')) text += '\n';
  return writeFileAtomic(path, `${text}${line}\n`, 0o644);
}
