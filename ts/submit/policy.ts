// Who may inject with which envelope sender over the socket (SO_PEERCRED gives the
// caller's uid; the client cannot lie about it). qmail let anyone say anything; qmta's
// default is what a 2026 reviewer expects:
// - root, the qmta account, and accounts named in control/trustedusers (or everyone,
//   when it holds "*") may use any sender;
// - any other local user may use only an address of their own: NAME@HOST or
//   NAME-EXT@HOST, NAME their login name and HOST one of control/locals, me or
//   defaulthost; or the null sender <> (it cannot be anyone's).
// Who sees which queued messages in a listing (mailq over the socket) follows the same
// lines: root, the qmta account and trusted users see the whole queue (Postfix shows it
// to everyone by default; qmail's qmail-qread only to root and qmail's accounts); anyone
// else sees the messages whose envelope sender is an address of their own by the rule
// above (not <>: a bounce is nobody's).
//
// Interface: senderAllowed(caller, sender, settings) -> undefined | the reason;
// seesWholeQueue(caller, settings); ownSender(caller, sender, settings);
// senderSettings(config, self) -> the settings from control/.

import type { Config } from '../config/index.js';

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

/** The settings from control/trustedusers, locals, me and defaulthost; `self` our uid. */
export function senderSettings(c: Config, self: number): SenderSettings {
  return { self, trusted: c.trustedusers, hosts: [...c.locals, c.me.toLowerCase(), c.defaulthost.toLowerCase()] };
}

/** Undefined when `caller` may use `sender`, else why not. */
export function senderAllowed(caller: Caller, sender: string, s: SenderSettings): string | undefined {
  if (seesWholeQueue(caller, s) || sender === '' || ownSender(caller, sender, s)) return undefined;
  return `uid ${caller.uid}${caller.name ? ` (${caller.name})` : ''} may not send as <${sender}>`;
}

/** Root, the qmta account, and trusted users (any sender, the whole queue). */
export function seesWholeQueue(caller: Caller, s: SenderSettings): boolean {
  if (caller.uid === 0 || caller.uid === s.self || s.trusted.includes('*')) return true;
  return caller.name !== undefined && s.trusted.includes(caller.name);
}

/** True when `sender` is NAME@HOST or NAME-EXT@HOST for the caller's NAME and a local HOST. */
export function ownSender(caller: Caller, sender: string, s: SenderSettings): boolean {
  const at = sender.lastIndexOf('@');
  const local = at < 0 ? sender : sender.slice(0, at);
  const host = at < 0 ? '' : sender.slice(at + 1).toLowerCase();
  const name = caller.name;
  return name !== undefined && (local === name || local.startsWith(`${name}-`)) && s.hosts.includes(host);
}
