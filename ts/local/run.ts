// One qmail-local run for one recipient, shared by the worker pool (worker.ts) and the
// event loop (index.ts): plans the delivery with CONFIG's planDelivery over the real
// filesystem, checks Delivered-To loops and the hop count, then executes the plan.
//
// Interface: runLocal(task, where) -> LocalTaskResult, or undefined when `where` is
// 'event loop' and the plan needs the worker pool. On the event loop only plans made of
// maildir and forward lines run (a few stats and one read of the header, then the
// maildir write on the core's threads): that is nearly all mail, and it skips a worker hop
// and its message copies. Program lines (a child process, uid switching, up to an hour)
// and mbox lines (lock waits of up to 30 s, sync owner checks) go to the pool.
// Failures: the plan's (perm 5.1.1 no mailbox, temp 4.7.0 writable home...); our own
// Delivered-To line already in the header -> perm 5.4.6; more than MAX_HOPS Received /
// Delivered-To lines -> perm 5.4.6; the executor's.

import { mailbox } from '../mailbox/index.js';
import { ok, perm, type Outcome } from '../outcome.js';
import { tableOf } from '../users/assign.js';
import { nodeDotQmailFs, planDelivery, type DeliveryPlan } from './dot-qmail.js';
import { executePlan } from './execute.js';
import { scanHeader } from './header-scan.js';
import { MAX_HOPS, type LocalTask, type LocalTaskResult } from './task.js';

export type RunPlace = 'worker' | 'event loop';

/** Runs the delivery `where` it is called from; see the header. */
export async function runLocal(task: LocalTask, where: RunPlace): Promise<LocalTaskResult | undefined> {
  const a = task.assignment;
  // The main thread already looked the user up (users/assign as reloaded there): a
  // one-line table hands the planner exactly that assignment.
  const users = tableOf([{ kind: '=', local: task.local, ...a }]);
  const plan = planDelivery({
    recipient: `${task.local}@${task.domain}`, sender: task.sender, users,
    alias: { home: a.home, uid: a.uid, gid: a.gid }, now: new Date(), ...(task.srs ? { srs: task.srs } : {}),
  }, nodeDotQmailFs);
  if (plan.kind !== 'ok') return failed(plan, task.sender);
  const p = plan.value;
  if (p.trash) return { outcome: ok('did 0+0+0'), forwards: [], newSender: p.newSender, dtline: p.dtline, writes: [], env: {} };
  if (where === 'event loop' && !p.instructions.every((i) => i.kind === 'maildir' || i.kind === 'forward')) return undefined;
  const loop = checkLoop(task.bodyPath, p);
  if (loop.kind !== 'ok') return failed(loop, p.newSender);
  const env = { ...task.baseEnv, ...p.env };
  const r = await executePlan({
    instructions: p.instructions, bodyPath: task.bodyPath, sender: task.sender,
    rpline: p.rpline, dtline: p.dtline, home: a.home, env, inEventLoop: where === 'event loop',
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
