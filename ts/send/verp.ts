// VERP and bounce addressing (qmail.md §11.3, §7.3).
//
// Interface: expandSender(sender, recipient) -> the envelope sender of one delivery;
// bounceTarget(sender) -> who the bounce of a message with that sender goes to.
// Guarantees: pure; no escaping of box/dom, exactly as qmail-send (a qmail site's
// `-default` handlers split on the last `=`).

const VERP_SUFFIX = '-@[]';

/** The sender for one delivery: `P@H-@[]` becomes `P` + box + `=` + dom + `@H`. */
export function expandSender(sender: string, recipient: string): string {
  if (!sender.endsWith(VERP_SUFFIX)) return sender;
  const base = sender.slice(0, -VERP_SUFFIX.length);
  const at = base.lastIndexOf('@');
  if (at < 0) return base;
  const ra = recipient.lastIndexOf('@');
  const box = ra < 0 ? recipient : recipient.slice(0, ra);
  const dom = ra < 0 ? '' : recipient.slice(ra + 1);
  return `${base.slice(0, at)}${box}=${dom}${base.slice(at)}`;
}

export type BounceTarget =
  | { readonly kind: 'single'; readonly to: string }
  | { readonly kind: 'double' }
  | { readonly kind: 'triple' };

/** Where the bounce of a message sent by `sender` goes (qmail.md §7.3's table). */
export function bounceTarget(sender: string): BounceTarget {
  if (sender === '') return { kind: 'double' };
  if (sender === '#@[]') return { kind: 'triple' };
  if (sender.endsWith(VERP_SUFFIX)) return { kind: 'single', to: sender.slice(0, -VERP_SUFFIX.length) };
  return { kind: 'single', to: sender };
}
