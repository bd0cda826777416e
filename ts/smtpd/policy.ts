// Acceptance policy for RCPT and AUTH: qmail-smtpd's rules (rcpthosts, RELAYCLIENT) plus
// what a 2026 server adds (AUTH, RCPT-time validation). MAIL's own checks (AUTH on
// submission 530 5.7.0, badmailfrom 553 5.7.1) are the core's: crates/smtp-server mail.rs.
//
// Replies:
//   RCPT outside rcpthosts, not relay client, not authenticated -> 553 5.7.1 (no open relay)
//   local part with '%' '!' or '@' (routing tricks) is treated as a relay attempt
//   recipient refused by validateRecipient   -> 550 5.1.1 (or the Outcome's own status)
//   validateRecipient throwing / temp         -> 451 4.3.0 (unknown means temporary)
//   AUTH wrong password -> 535 5.7.8; checkPassword throwing -> 454 4.7.0
// Guarantee: relaying is denied by default; every failure path gives a reply, never a throw.

import { assertNever, describe, fromException, type Outcome } from '../outcome.js';
import type { SmtpReply } from '../native.js';

export interface Policy {
  readonly rcpthosts: readonly string[];
  readonly validateRecipient?: (address: string) => Promise<boolean | Outcome<boolean>>;
  readonly checkPassword?: (user: string, password: string) => Promise<boolean>;
}

export interface Peer {
  /** The peer's IP is in relayclients. */
  readonly relayClient: boolean;
  /** Set once AUTH succeeded. */
  readonly user?: string;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  return at < 0 ? undefined : address.slice(at + 1).toLowerCase();
}

/** True when `domain` is listed in rcpthosts (qmail: ".example.com" matches subdomains). */
export function inRcpthosts(rcpthosts: readonly string[], domain: string): boolean {
  return rcpthosts.some((h) => {
    const host = h.toLowerCase();
    return host.startsWith('.') ? domain.endsWith(host) : domain === host;
  });
}

/** RCPT's relay control: 'ours' (a domain in rcpthosts: the recipient is validated),
 *  'relay' (another domain, from a relay client or an authenticated user), or the 553. */
export function relayRcpt(p: Policy, peer: Peer, address: string): 'ours' | 'relay' | SmtpReply {
  const domain = domainOf(address);
  const localPart = domain === undefined ? address : address.slice(0, address.lastIndexOf('@'));
  const routed = /[%!@]/.test(localPart);
  const ours = domain === undefined || inRcpthosts(p.rcpthosts, domain);
  if (ours && !routed) return 'ours';
  if (peer.relayClient || peer.user !== undefined) return 'relay';
  return reply(553, '5.7.1', "sorry, that domain isn't in my list of allowed rcpthosts");
}

export const RCPT_OK = reply(250, '2.1.5', 'recipient ok');

export async function decideRcpt(p: Policy, peer: Peer, address: string): Promise<SmtpReply> {
  const relay = relayRcpt(p, peer, address);
  if (relay === 'ours') return validateRcpt(p, address);
  return relay === 'relay' ? RCPT_OK : relay;
}

/** RCPT-time validation of a recipient of ours (validateRecipient: 550 5.1.1 when unknown). */
export async function validateRcpt(p: Policy, address: string): Promise<SmtpReply> {
  if (!p.validateRecipient) return reply(250, '2.1.5', 'recipient ok');
  let verdict: boolean | Outcome<boolean>;
  try {
    verdict = await p.validateRecipient(address);
  } catch (err) {
    const f = fromException(err);
    return reply(451, f.status, describe(f));
  }
  if (verdict === true) return reply(250, '2.1.5', 'recipient ok');
  if (verdict === false) return reply(550, '5.1.1', 'sorry, no mailbox here by that name');
  switch (verdict.kind) {
    case 'ok':
      return verdict.value ? reply(250, '2.1.5', 'recipient ok') : reply(550, '5.1.1', 'sorry, no mailbox here by that name');
    case 'temp':
      return reply(451, verdict.status, verdict.text);
    case 'perm':
      return reply(550, verdict.status, verdict.text);
    default:
      return assertNever(verdict);
  }
}

/** The users/passwd name for an AUTH identity: bare, or name@domain for a local domain. */
export function authName(p: Policy, identity: string): string | undefined {
  const domain = domainOf(identity);
  if (domain === undefined) return identity;
  return inRcpthosts(p.rcpthosts, domain) ? identity.slice(0, identity.lastIndexOf('@')) : undefined;
}

export async function decideAuth(p: Policy, identity: string, password: string): Promise<{ reply: SmtpReply; user?: string }> {
  const name = authName(p, identity);
  if (!p.checkPassword || name === undefined || name === '') return { reply: reply(535, '5.7.8', 'authentication failed') };
  try {
    if (await p.checkPassword(name, password)) return { reply: reply(235, '2.7.0', 'authentication successful'), user: name };
    return { reply: reply(535, '5.7.8', 'authentication failed') };
  } catch {
    return { reply: reply(454, '4.7.0', 'temporary authentication failure') };
  }
}
