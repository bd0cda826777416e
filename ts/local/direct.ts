// Delivery at accept time (DESIGN.md "two delivery paths, one promise"): at RCPT, decides
// whether a recipient's whole delivery is maildirs this process may write, and if so
// hands the SMTP core where to write and what to prepend. The core writes them before
// the 250 (crates/accept); the recipient never enters the queue.
//
// Interface: planDirect(address, sender, deps) -> DirectPlan | undefined (undefined: the
// recipient goes through the queue as qmail would deliver it).
// Eligible: control/directmaildir on; the address routes to the local channel with a
// non-empty local part; qmail-local's plan for it (planDelivery: users/assign, dot-qmail,
// default ./Maildir/) succeeds and holds maildir lines only; and the mailbox owner is the
// uid this process runs as (anyone else's maildir is written as that user, through the
// queue and local delivery).
// Failures: none; any doubt (a temporary error reading a .qmail, a program or forward
// line, another owner) routes the recipient through the queue, where qmail-local's rules
// give it the same result later. The RCPT check itself (550 5.1.1) is checkRecipient's.

import { rewriteRecipient, type RouteTable } from '../route/rewrite.js';
import type { AliasUser, AssignTable } from '../users/assign.js';
import { planDelivery, type DotQmailFs } from './dot-qmail.js';
import { guardedDotQmailFs, type Guard } from './dot-qmail-fs.js';

export interface DirectDeps {
  readonly enabled: boolean;
  readonly route: RouteTable;
  readonly users: AssignTable;
  readonly alias: AliasUser;
  /** The uid the receiving process writes as. */
  readonly uid: number;
  readonly fs?: DotQmailFs;
}

/** Where a direct recipient's message goes, and what the logs and notices need. */
export interface DirectPlan {
  /** Maildir folders, in dot-qmail order. */
  readonly maildirs: readonly string[];
  /** Return-Path and Delivered-To lines (each ending in LF), prepended to each file in that order. */
  readonly rpline: string;
  readonly dtline: string;
  /** The recipient after routing (virtualdomains prepend included): what qmail-send logs. */
  readonly recipient: string;
  readonly user: string;
  readonly home: string;
  /** qmail-local's environment for this delivery (the newmailhook program gets it). */
  readonly env: Readonly<Record<string, string>>;
  /** The paths the plan was read from, with their signatures (none with a given `fs`, or
   *  when one changed just now): while they stat the same, the plan holds. */
  readonly guards?: readonly Guard[];
}

/** The direct plan for `address`, or undefined when it must go through the queue. */
export function planDirect(address: string, sender: string, deps: DirectDeps): DirectPlan | undefined {
  if (!deps.enabled) return undefined;
  const routed = rewriteRecipient(address, deps.route);
  if (routed.channel !== 'local' || routed.address.startsWith('@')) return undefined;
  const guarded = deps.fs ? undefined : guardedDotQmailFs();
  const plan = planDelivery({ recipient: routed.address, sender, users: deps.users, alias: deps.alias, now: new Date() },
    deps.fs ?? guarded!.fs);
  if (plan.kind !== 'ok') return undefined;
  const p = plan.value;
  const maildirs = p.instructions.flatMap((i) => (i.kind === 'maildir' ? [i.path] : []));
  if (p.trash || maildirs.length === 0 || maildirs.length !== p.instructions.length) return undefined;
  if (p.assignment.uid !== deps.uid) return undefined;
  const guards = guarded?.guards();
  return {
    maildirs, rpline: p.rpline, dtline: p.dtline, recipient: routed.address,
    user: p.assignment.user, home: p.assignment.home, env: p.env, ...(guards ? { guards } : {}),
  };
}
