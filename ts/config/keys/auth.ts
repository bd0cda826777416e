// Control files of mail authentication: DKIM signing keys and ARC sealing (ts/dkim), SRS (ts/srs), the
// checks of inbound mail (ts/inbound), MTA-STS, DANE and TLS-RPT (ts/remote). See key.ts for the KeySpec contract.
//
// dkimkeys: one `domain:selector:keyfile` a line; keyfile is relative to the home (or
// absolute). Every line of a domain signs (several selectors = dual signing, e.g. RSA and
// Ed25519, or old and new key while a rotation overlaps); a `#` line is kept for the record
// and signs nothing. Mail is signed by the lines of its From domain or, failing that, of the
// nearest parent domain listed (ts/dkim/keyring.ts).

import { isAbsolute, join } from 'node:path';
import { flagKey, intKey, lineKey, listKey, type ItemParser } from '../key.js';

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

/** control/arcseal: '' (off), or the sealing domain ('1' = control/me). */
const arcSeal: ItemParser<string> = (text, ctx) => {
  if (text === '' || text === '0') return { value: '' };
  if (text === '1') return { value: ctx.me.toLowerCase() };
  return isDnsName(text) ? { value: text.toLowerCase() } : { reason: `not 0, 1 or a domain: "${text}"` };
};

const srsSecret: ItemParser<string> = (text) =>
  (text.length >= 16 ? { value: text } : { reason: 'an SRS secret needs at least 16 characters' });

export const authKeys = {
  dkimkeys: listKey('DKIM signing keys, domain:selector:keyfile per line (qmta dkim keygen writes them)', 'none',
    () => [], dkimKeyEntry),
  srssecrets: listKey('SRS secrets for forwarded mail: the first signs, every line verifies (none: no SRS)', 'none',
    () => [], srsSecret),
  srsdomain: lineKey('domain of SRS addresses (SRS0=...@srsdomain); must reach this host', 'me', (ctx) => ctx.me),
  arcseal: lineKey('ARC-seal list posts and forwards (RFC 8617) with the control/dkimkeys RSA key of a domain: 0 = off, 1 = me, or the domain',
    '0', () => '', arcSeal),
  authservid: lineKey('authserv-id of the Authentication-Results header added to inbound mail', 'me', (ctx) => ctx.me,
    (text) => (/^[!-~]+$/.test(text) && !/[;()"\\]/.test(text) ? { value: text } : { reason: 'not a token' })),
  spfreject: flagKey('1 = refuse SPF fail at MAIL FROM (550 5.7.23; a DNS failure 451 4.7.24); 0 = mark only', false),
  dmarcreject: flagKey('1 = honour DMARC p=reject (550 5.7.1; a DNS failure 451 4.7.1); 0 = mark only', false),
  mtasts: flagKey('1 = apply recipient domains\' MTA-STS policies (RFC 8461: enforce defers mail to unlisted MX hosts or unverified TLS)', true),
  dane: flagKey('1 = DANE for MX deliveries (RFC 7672: usable TLSA records make TLS mandatory and matched); only with validating resolvers on loopback in dnsservers', false),
  tlsrpt: flagKey('1 = write daily TLS-RPT reports (RFC 8460) of MTA-STS domains to log/tlsrpt/DATE/DOMAIN.json', true),
  authtimeout: intKey('seconds the checks of one message may spend on DNS (SPF at MAIL FROM; DKIM, ARC, DMARC after DATA)', 20, { floor: 1 }),
};
