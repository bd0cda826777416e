// Control files of mail authentication: DKIM signing keys (ts/dkim). See key.ts for the
// KeySpec contract.
//
// dkimkeys: one `domain:selector:keyfile` a line; keyfile is relative to the home (or
// absolute). Every line of a domain signs (several selectors = dual signing, e.g. RSA and
// Ed25519, or old and new key while a rotation overlaps); a `#` line is kept for the record
// and signs nothing. Mail is signed by the lines of its From domain or, failing that, of the
// nearest parent domain listed (ts/dkim/keyring.ts).

import { isAbsolute, join } from 'node:path';
import { listKey, type ItemParser } from '../key.js';

/** One control/dkimkeys entry. */
export interface DkimKeyEntry {
  /** Lowercased domain (the d= tag). */
  readonly domain: string;
  /** The s= tag. */
  readonly selector: string;
  /** Absolute path of the PEM private key. */
  readonly path: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** True for a DNS name made of letters, digits and hyphens (what d= and s= may hold). */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

const dkimKeyEntry: ItemParser<DkimKeyEntry> = (text, ctx) => {
  const [domain, selector, ...rest] = text.split(':');
  const file = rest.join(':');
  if (domain === undefined || selector === undefined || file === '') return { reason: 'not domain:selector:keyfile' };
  if (!isDnsName(domain)) return { reason: `bad domain "${domain}"` };
  if (!isDnsName(selector)) return { reason: `bad selector "${selector}"` };
  return { value: { domain: domain.toLowerCase(), selector, path: isAbsolute(file) ? file : join(ctx.home, file) } };
};

export const authKeys = {
  dkimkeys: listKey('DKIM signing keys, domain:selector:keyfile per line (qmta dkim keygen writes them)', 'none',
    () => [], dkimKeyEntry),
};
