// A list's addresses, ezmlm-style, all derived from the posting address local@host:
// local-request, local-subscribe[-box=dom], local-unsubscribe[-box=dom], local-help,
// local-confirm-TOKEN, local-owner, and local-return-box=dom (VERP bounces).
//
// Interface: listAddress(cfg, suffix); verpSender(cfg); listId(cfg); listHeaders(cfg);
// parseCommand(defaultPart) -> ListCommand; verpSubscriber(defaultPart).
// Failures: none (pure); an unknown command is { kind: 'unknown' }.
// Guarantees: the VERP sender is qmail's "P@H-@[]" form, so qmail-send style expansion gives
// local-return-box=dom@host for each subscriber.

import type { ListConfig } from './store.js';

export type ListCommand =
  | { readonly kind: 'subscribe' | 'unsubscribe'; readonly target: string | undefined }
  | { readonly kind: 'confirm'; readonly token: string }
  | { readonly kind: 'request' | 'help' | 'unknown' };

function split(cfg: ListConfig): { local: string; host: string } {
  const at = cfg.address.lastIndexOf('@');
  return { local: cfg.address.slice(0, at), host: cfg.address.slice(at + 1) };
}

/** local-suffix@host (suffix '' = the posting address). */
export function listAddress(cfg: ListConfig, suffix: string): string {
  const { local, host } = split(cfg);
  return suffix === '' ? cfg.address : `${local}-${suffix}@${host}`;
}

/** The envelope sender of list mail: local-return-@host-@[] (per-recipient VERP). */
export function verpSender(cfg: ListConfig): string {
  return `${listAddress(cfg, 'return-')}-@[]`;
}

/** RFC 2919 list identifier: local.host. */
export function listId(cfg: ListConfig): string {
  const { local, host } = split(cfg);
  return `${local}.${host}`;
}

/**
 * The header fields put on every list message (RFC 2369, RFC 2919); `unsubscribe` replaces
 * the shared mailto List-Unsubscribe (one-click lists give each subscriber their own).
 */
export function listHeaders(cfg: ListConfig, unsubscribe?: string): string {
  return `Mailing-List: contact ${listAddress(cfg, 'help')}; run by qmta\n` +
    `List-Id: <${listId(cfg)}>\n` +
    `List-Post: <mailto:${cfg.address}>\n` +
    `List-Help: <mailto:${listAddress(cfg, 'help')}>\n` +
    `List-Subscribe: <mailto:${listAddress(cfg, 'subscribe')}>\n` +
    (unsubscribe ?? `List-Unsubscribe: <mailto:${listAddress(cfg, 'unsubscribe')}>\n`) +
    'Precedence: list\n';
}

/** box=dom (last '=' splits) -> box@dom. */
export function boxDom(s: string): string | undefined {
  const eq = s.lastIndexOf('=');
  return eq > 0 && eq < s.length - 1 ? `${s.slice(0, eq)}@${s.slice(eq + 1)}` : undefined;
}

/** What the part of the address after "local-" asks for ($DEFAULT of .qmail-NAME-default). */
export function parseCommand(def: string): ListCommand {
  const lower = def.toLowerCase();
  for (const kind of ['subscribe', 'unsubscribe'] as const) {
    if (lower === kind) return { kind, target: undefined };
    if (lower.startsWith(`${kind}-`)) return { kind, target: boxDom(def.slice(kind.length + 1)) };
  }
  if (lower.startsWith('confirm-')) return { kind: 'confirm', token: def.slice('confirm-'.length) };
  if (lower === 'request') return { kind: 'request' };
  if (lower === 'help') return { kind: 'help' };
  return { kind: 'unknown' };
}
