// The local delivery worker (qmail-local's role), run by tinypool: plans the delivery
// with CONFIG's planDelivery over the real filesystem, checks Delivered-To loops and the
// hop count, then executes the plan with MAILBOX's synchronous writers.
//
// Interface: default export deliverLocal(task: LocalTask) -> LocalTaskResult (task.ts).
// Failures: the plan's (perm 5.1.1 no mailbox, temp 4.7.0 writable home...); our own
// Delivered-To line already in the header -> perm 5.4.6; more than MAX_HOPS Received /
// Delivered-To lines -> perm 5.4.6; the executor's. A throw becomes temp 4.3.0 in the
// main thread (tinypool rejects the task).
// Constraint (toolchain.md §10.8): the native addon is loaded in the main thread too
// (ts/mailbox is imported there first), and this module only makes synchronous calls
// into it.

import { mailbox } from '../mailbox/index.js';
import { ok, perm, type Outcome } from '../outcome.js';
import { tableOf } from '../users/assign.js';
import { nodeDotQmailFs, planDelivery, type DeliveryPlan } from './dot-qmail.js';
import { executePlan } from './execute.js';
import { scanHeader } from './header-scan.js';
import { MAX_HOPS, type LocalTask, type LocalTaskResult } from './task.js';

/** One qmail-local run for one recipient. */
export default async function deliverLocal(task: LocalTask): Promise<LocalTaskResult> {
  const a = task.assignment;
  // The main thread already looked the user up (users/assign as reloaded there): a
  // one-line table hands the planner exactly that assignment.
  const users = tableOf([{ kind: '=', local: task.local, ...a }]);
  const plan = planDelivery({
    recipient: `${task.local}@${task.domain}`, sender: task.sender, users,
    alias: { home: a.home, uid: a.uid, gid: a.gid }, now: new Date(),
  }, nodeDotQmailFs);
  if (plan.kind !== 'ok') return failed(plan, task.sender);
  const p = plan.value;
  if (p.trash) return { outcome: ok('did 0+0+0'), forwards: [], newSender: p.newSender, dtline: p.dtline, writes: [], env: {} };
  const loop = checkLoop(task.bodyPath, p);
  if (loop.kind !== 'ok') return failed(loop, p.newSender);
  const env = { ...task.baseEnv, ...p.env };
  const r = await executePlan({
    instructions: p.instructions, bodyPath: task.bodyPath, sender: task.sender,
    rpline: p.rpline, dtline: p.dtline, home: a.home, env,
    ...(task.asOwner ? { owner: { uid: a.uid, gid: a.gid } } : {}), programTimeoutMs: task.programTimeoutMs,
  }, mailbox);
  return { outcome: r.outcome, forwards: r.forwards, newSender: p.newSender, dtline: p.dtline, writes: r.writes, env };
}

function checkLoop(bodyPath: string, p: DeliveryPlan): Outcome<void> {
  const facts = scanHeader(bodyPath, p.dtline);
  if (facts.kind !== 'ok') return facts;
  if (facts.value.looping) return perm('5.4.6', 'This message is looping: it already has my Delivered-To line.');
  if (facts.value.hops > MAX_HOPS) return perm('5.4.6', `This message is looping: more than ${MAX_HOPS} hops.`);
  return ok(undefined);
}

function failed(outcome: Outcome<unknown> & { kind: 'temp' | 'perm' }, newSender: string): LocalTaskResult {
  return { outcome, forwards: [], newSender, dtline: '', writes: [], env: {} };
}
