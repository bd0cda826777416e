// The envelope sender of a forwarded copy (dot-qmail `&address` lines, and NEWSENDER for the
// `forward` and `condredirect` helpers): SRS-rewritten unless the sender is one of ours.
//
// Interface: forwardingSender(sender, srs?) -> the sender to use; srsForwarding(config) ->
// the settings from control/ (undefined when control/srssecrets is empty: SRS off).
// Kept as they are: no SRS configured; the null sender and #@[] (bounces are never
// rewritten); qmail's VERP form P@H-@[] (lists' -owner senders: they keep their VERP); a
// sender whose domain is one of ours (control/rcpthosts entries, '.suffix' included), since
// our SPF already covers it.
// Failures: none.

import { srsForward, type SrsSettings } from './srs.js';

export interface SrsForwarding extends SrsSettings {
  /** Our domains, as control/rcpthosts lists them ('dom' or '.suffix'), lowercased. */
  readonly ours: readonly string[];
}

function isOurs(domain: string, ours: readonly string[]): boolean {
  const d = domain.toLowerCase();
  return ours.some((o) => (o.startsWith('.') ? d.endsWith(o) : d === o));
}

/** The sender a forwarded copy of a message from `sender` goes out with. */
export function forwardingSender(sender: string, srs: SrsForwarding | undefined, now = Date.now()): string {
  if (!srs || sender === '' || sender === '#@[]' || sender.endsWith('-@[]')) return sender;
  const at = sender.lastIndexOf('@');
  if (at <= 0 || at === sender.length - 1 || isOurs(sender.slice(at + 1), srs.ours)) return sender;
  return srsForward(sender, srs, now);
}

/** SRS settings from the configuration, or undefined when no secret is set. */
export function srsForwarding(c: { readonly srssecrets: readonly string[]; readonly srsdomain: string; readonly rcpthosts: readonly string[] }): SrsForwarding | undefined {
  if (c.srssecrets.length === 0) return undefined;
  return { secrets: c.srssecrets, domain: c.srsdomain.toLowerCase(), ours: [...c.rcpthosts, c.srsdomain.toLowerCase()] };
}
