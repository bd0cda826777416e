// The Sender Rewriting Scheme (Shevek's SRS, the format of libsrs2 and postsrsd), so that a
// forwarded message's envelope sender names a domain whose SPF allows us, and bounces to it
// come back here to be sent on to the original sender.
//
// Interface: srsForward(sender, s, now) -> the rewritten sender; srsReverse(local, s, now)
// -> { kind: 'ok', address } | { kind: 'forged' | 'expired' | 'malformed' }; isSrsLocal(local).
//   SRS0=HHHH=TT=domain=local@srsdomain      from an ordinary sender local@domain
//   SRS1=HHHH=host==HHHH=TT=domain=local@srsdomain   from host's SRS0 address (one hop kept)
// HHHH: the first 4 characters of base64(HMAC-SHA1(secret, lowercased fields)); TT: the day
// (base32, 2 characters, 1,024-day cycle). Reversal accepts any secret of the list (rotation:
// the first signs, all verify) and a hash differing only in case (some MTAs lowercase local
// parts); an SRS0 older than maxAgeDays (21, libsrs2's default) or from the future is expired.
// Why not a library: the npm SRS packages are unmaintained and incompatible with libsrs2's
// format (hex hashes); this is an HMAC and a string format, and the e2e tests check it
// against Debian's postsrsd in both directions.
// Failures: none thrown; reversal answers what is wrong. No state.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SrsSettings {
  /** Secrets: the first signs, every one verifies. Never empty. */
  readonly secrets: readonly string[];
  /** The domain SRS addresses are made in (control/srsdomain). */
  readonly domain: string;
  readonly maxAgeDays?: number;
}

export type SrsReversed =
  | { readonly kind: 'ok'; readonly address: string }
  | { readonly kind: 'forged' | 'expired' | 'malformed' };

const TIME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const TIME_SLOTS = 1024;
const DAY_MS = 86_400_000;
const HASH_LENGTH = 4;
const SEPARATORS = '=+-';

function hash(secret: string, fields: readonly string[]): string {
  const h = createHmac('sha1', secret);
  for (const f of fields) h.update(f.toLowerCase());
  return h.digest('base64').slice(0, HASH_LENGTH);
}

function today(now: number): number {
  return Math.floor(now / DAY_MS) % TIME_SLOTS;
}

function stamp(now: number): string {
  const d = today(now);
  return TIME_CHARS[(d >> 5) & 31]! + TIME_CHARS[d & 31]!;
}

/** True for a local part that claims to be an SRS address. */
export function isSrsLocal(local: string): boolean {
  return /^srs[01][=+-]/i.test(local);
}

/** The forwarding sender for `sender` (local@domain); SRS addresses get one hop of SRS1. */
export function srsForward(sender: string, s: SrsSettings, now = Date.now()): string {
  const at = sender.lastIndexOf('@');
  const local = sender.slice(0, at);
  const domain = sender.slice(at + 1);
  const secret = s.secrets[0]!;
  if (/^srs0[=+-]/i.test(local)) {
    const user = local.slice(4);
    return `SRS1=${hash(secret, [domain, user])}=${domain}=${user}@${s.domain}`;
  }
  // The hash is base64 (may hold + and /): only '=' ends it, as in libsrs2.
  const srs1 = /^srs1[=+-][^=]*=([^=]*)=(.*)$/i.exec(local);
  if (srs1) return `SRS1=${hash(secret, [srs1[1]!, srs1[2]!])}=${srs1[1]}=${srs1[2]}@${s.domain}`;
  const t = stamp(now);
  return `SRS0=${hash(secret, [t, domain, local])}=${t}=${domain}=${local}@${s.domain}`;
}

function hashMatches(given: string, s: SrsSettings, fields: readonly string[]): boolean {
  return s.secrets.some((secret) => {
    const want = Buffer.from(hash(secret, fields).toLowerCase());
    const got = Buffer.from(given.toLowerCase());
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

function fresh(t: string, now: number, maxAgeDays: number): boolean {
  const hi = TIME_CHARS.indexOf(t[0]!.toUpperCase());
  const lo = TIME_CHARS.indexOf(t[1]!.toUpperCase());
  if (hi < 0 || lo < 0) return false;
  const then = (hi << 5) | lo;
  const age = (today(now) - then + TIME_SLOTS) % TIME_SLOTS;
  return age <= maxAgeDays;
}

/** The address an SRS local part stands for, or why it is refused. */
export function srsReverse(local: string, s: SrsSettings, now = Date.now()): SrsReversed {
  if (!SEPARATORS.includes(local[4] ?? '')) return { kind: 'malformed' };
  const srs0 = /^srs0[=+-]([^=]+)=([^=]{2})=([^=]+)=(.+)$/i.exec(local);
  if (srs0) {
    const [, h, t, domain, user] = srs0 as unknown as [string, string, string, string, string];
    if (!hashMatches(h, s, [t, domain, user])) return { kind: 'forged' };
    if (!fresh(t, now, s.maxAgeDays ?? 21)) return { kind: 'expired' };
    return { kind: 'ok', address: `${user}@${domain}` };
  }
  const srs1 = /^srs1[=+-]([^=]+)=([^=]+)=(.+)$/i.exec(local);
  if (srs1) {
    const [, h, host, user] = srs1 as unknown as [string, string, string, string];
    if (!hashMatches(h, s, [host, user])) return { kind: 'forged' };
    return { kind: 'ok', address: `SRS0${user}@${host}` };
  }
  return { kind: 'malformed' };
}
