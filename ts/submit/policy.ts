// Who may inject with which envelope sender over the socket (SO_PEERCRED gives the
// caller's uid; the client cannot lie about it). qmail let anyone say anything; qmta's
// default is what a 2026 reviewer expects:
// - root, the qmta account, and accounts named in control/trustedusers (or everyone,
//   when it holds "*") may use any sender;
// - any other local user may use only an address of their own: NAME@HOST or
//   NAME-EXT@HOST, NAME their login name and HOST one of control/locals, me or
//   defaulthost; or the null sender <> (it cannot be anyone's).
//
// Interface: senderAllowed(caller, sender, settings) -> undefined | the reason.

export interface Caller {
  readonly uid: number;
  /** The login name of uid (NSS); undefined when the uid has no account. */
  readonly name: string | undefined;
}

export interface SenderSettings {
  /** The daemon's own uid (the qmta account). */
  readonly self: number;
  readonly trusted: readonly string[];
  readonly hosts: readonly string[];
}

/** Undefined when `caller` may use `sender`, else why not. */
export function senderAllowed(caller: Caller, sender: string, s: SenderSettings): string | undefined {
  if (caller.uid === 0 || caller.uid === s.self || s.trusted.includes('*')) return undefined;
  if (caller.name !== undefined && s.trusted.includes(caller.name)) return undefined;
  if (sender === '') return undefined;
  const at = sender.lastIndexOf('@');
  const local = at < 0 ? sender : sender.slice(0, at);
  const host = at < 0 ? '' : sender.slice(at + 1).toLowerCase();
  const name = caller.name;
  const own = name !== undefined && (local === name || local.startsWith(`${name}-`)) && s.hosts.includes(host);
  return own ? undefined : `uid ${caller.uid}${name ? ` (${name})` : ''} may not send as <${sender}>`;
}
