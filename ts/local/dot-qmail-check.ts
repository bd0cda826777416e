// RCPT-time recipient validation (DESIGN: decide at RCPT time, no backscatter): would local
// delivery find a mailbox for this address, or end in qmail-local's "Sorry, no mailbox here
// by that name. (#5.1.1)"?
//
// Interface: checkRecipient(address, deps) -> Outcome<boolean>
//   ok(true)  remote address (relay policy decides), trash address, bare user (default
//             delivery), or a .qmail / -default file exists for the extension
//   ok(false) local address with no .qmail file, or a forged or expired SRS address of
//             control/srsdomain (a bounce nobody sent through us): answer 550 5.1.1
// Failures: a candidate .qmail that cannot be stat'ed (EACCES, EIO) -> temp 4.3.0 (answer 4xx).
// Only file existence is checked: permissions and content are delivery-time matters, as
// in qmail-local. Uses the synchronous DotQmailFs: a few stat calls per RCPT.

import { ok, type Outcome } from '../outcome.js';
import { rewriteRecipient, srsRecipient, type RouteTable } from '../route/rewrite.js';
import { lookupUser, type AliasUser, type AssignTable } from '../users/assign.js';
import { nodeDotQmailFs, type DotQmailFs } from './dot-qmail-fs.js';
import { searchDotQmail } from './dot-qmail.js';

export interface RecipientCheckDeps {
  readonly route: RouteTable;
  readonly users: AssignTable;
  readonly alias: AliasUser;
  readonly fs?: DotQmailFs;
}

/** True when `address` would be delivered (or relayed); false when it would bounce 5.1.1. */
export function checkRecipient(address: string, deps: RecipientCheckDeps): Outcome<boolean> {
  const srs = srsRecipient(address, deps.route);
  if (srs !== undefined && srs.kind !== 'ok') return ok(false);
  const routed = rewriteRecipient(address, deps.route);
  if (routed.channel === 'remote') return ok(true);
  const local = routed.address.slice(0, routed.address.lastIndexOf('@'));
  if (local === '') return ok(true);
  const a = lookupUser(deps.users, local, deps.alias);
  if (a.dash === '') return ok(true);
  const found = searchDotQmail(a, deps.fs ?? nodeDotQmailFs);
  return found.kind === 'ok' ? ok(found.value !== undefined) : found;
}
