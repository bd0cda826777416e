// qmail-send's recipient rewriting and channel split (qmail.md §2.4), as pure functions.
//
// Interface:
//   routeTable(config)                 -> RouteTable (build once per config load)
//   rewriteRecipient(address, table)   -> { channel: 'local' | 'remote', address }
//   splitRecipients(addresses, table)  -> { local: [...], remote: [...] } in input order
//   virtualPrepend(address, table)     -> the virtualdomains prepend that applies, if any
//   originalRecipient(address, table)  -> the address before the virtualdomains prepend (bounces)
//   srsRecipient(address, table)       -> what an SRS address of control/srsdomain stands for
// Rules, in order: no @ -> append @envnoathost; percenthack (last % -> @, repeatable while the
// domain is listed); an SRS address of srsdomain whose hash and age check out -> the address it
// stands for, routed (a forged or expired one is routed as it is, and RCPT refuses it:
// ts/local/dot-qmail-check.ts); domain in locals -> local, unchanged; virtualdomains keys whole address,
// domain, each .suffix longest first, then the empty key (empty prepend = exception ->
// remote); a match becomes `<prepend>-<address>`, local; everything else remote.
// Domains and keys compare case-insensitively; local parts are kept byte for byte.
// No failures: every string routes somewhere (a malformed address fails later, at delivery).

import { isSrsLocal, srsReverse, type SrsReversed, type SrsSettings } from '../srs/srs.js';

export interface RouteTable {
  readonly envnoathost: string;
  /** SRS reversal (control/srssecrets, srsdomain); undefined when SRS is off. */
  readonly srs?: SrsSettings;
  readonly percenthack: ReadonlySet<string>;
  readonly locals: ReadonlySet<string>;
  /** Lowercased key -> prepend; for duplicate keys the last line wins, as qmail's constmap. */
  readonly virtualdomains: ReadonlyMap<string, string>;
}

export interface RouteSettings {
  readonly envnoathost: string;
  readonly percenthack: readonly string[];
  readonly locals: readonly string[];
  readonly virtualdomains: readonly { readonly key: string; readonly prepend: string }[];
  readonly srssecrets?: readonly string[];
  readonly srsdomain?: string;
}

export type Channel = 'local' | 'remote';

export interface Routed {
  readonly channel: Channel;
  readonly address: string;
}

/** Builds the lookup table from the config's routing files (a Config satisfies RouteSettings). */
export function routeTable(s: RouteSettings): RouteTable {
  return {
    envnoathost: s.envnoathost,
    percenthack: new Set(s.percenthack.map((d) => d.toLowerCase())),
    locals: new Set(s.locals.map((d) => d.toLowerCase())),
    virtualdomains: new Map(s.virtualdomains.map((v) => [v.key.toLowerCase(), v.prepend])),
    ...(s.srssecrets?.length && s.srsdomain ? { srs: { secrets: s.srssecrets, domain: s.srsdomain.toLowerCase() } } : {}),
  };
}

/** For an SRS address of srsdomain: the address it stands for or why not; else undefined. */
export function srsRecipient(address: string, table: RouteTable, now = Date.now()): SrsReversed | undefined {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  if (!table.srs || at < 0 || address.slice(at + 1).toLowerCase() !== table.srs.domain || !isSrsLocal(local)) return undefined;
  return srsReverse(local, table.srs, now);
}

/** Rewrites one envelope recipient and says which channel delivers it. */
export function rewriteRecipient(address: string, table: RouteTable): Routed {
  let addr = address.includes('@') ? address : `${address}@${table.envnoathost}`;
  addr = applyPercentHack(addr, table.percenthack);
  const srs = srsRecipient(addr, table);
  // Reversed once: an SRS1 gives the previous forwarder's SRS0 address, which is its to reverse.
  if (srs?.kind === 'ok') return rewriteRecipient(srs.address, { ...table, srs: undefined });
  if (table.locals.has(domainOf(addr).toLowerCase())) return { channel: 'local', address: addr };
  const prepend = virtualPrepend(addr, table);
  if (prepend !== undefined) return { channel: 'local', address: `${prepend}-${addr}` };
  return { channel: 'remote', address: addr };
}

/** Splits recipients into the two channels, keeping their order. */
export function splitRecipients(addresses: readonly string[], table: RouteTable): { local: string[]; remote: string[] } {
  const out = { local: [] as string[], remote: [] as string[] };
  for (const a of addresses) {
    const r = rewriteRecipient(a, table);
    out[r.channel].push(r.address);
  }
  return out;
}

function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('@') + 1);
}

function applyPercentHack(addr: string, hack: ReadonlySet<string>): string {
  let at = addr.lastIndexOf('@');
  while (hack.has(addr.slice(at + 1).toLowerCase())) {
    const local = addr.slice(0, at);
    const pct = local.lastIndexOf('%');
    if (pct < 0) break;
    addr = `${local.slice(0, pct)}@${local.slice(pct + 1)}`;
    at = addr.lastIndexOf('@');
  }
  return addr;
}

/**
 * The prepend virtualdomains gives `addr` (which has an @), or undefined when no key matches
 * or the matching entry is an exception (empty prepend). Does not look at locals.
 */
export function virtualPrepend(addr: string, table: RouteTable): string | undefined {
  const lower = addr.toLowerCase();
  const at = lower.lastIndexOf('@');
  for (const key of virtualKeys(lower, at)) {
    const prepend = table.virtualdomains.get(key);
    if (prepend !== undefined) return prepend === '' ? undefined : prepend;
  }
  return undefined;
}

/** qmail-send's key order: whole address, domain, each .suffix (longest first), empty. */
function virtualKeys(lower: string, at: number): string[] {
  const keys = [lower, lower.slice(at + 1)];
  for (let i = at + 2; i < lower.length; i++) if (lower[i] === '.') keys.push(lower.slice(i));
  keys.push('');
  return keys;
}

/**
 * The recipient as the sender wrote it, for bounces: `joe-foo-info@nowhere.mil` becomes
 * `info@nowhere.mil` when virtualdomains maps it that way; any other address is returned as is.
 */
export function originalRecipient(address: string, table: RouteTable): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || table.locals.has(address.slice(at + 1).toLowerCase())) return address;
  const local = address.slice(0, at);
  for (let dash = local.indexOf('-'); dash >= 0; dash = local.indexOf('-', dash + 1)) {
    const candidate = address.slice(dash + 1);
    if (virtualPrepend(candidate, table) === local.slice(0, dash)) return candidate;
  }
  return address;
}
