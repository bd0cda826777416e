// Recording one recipient's delivery result (qmail-send's del_dochan, qmail.md §2.5, §7.1).
//
// Interface: recordResult(ctx, job, recipient, outcome, d) after a delivery finishes.
// - ok: markDone (checkpoint), log "success"; but the job's last delivery leaves its mark
//   unwritten (job.unmarked) when nothing else of the job remains: finishUnmarked then
//   removes the message if that recipient was its last (the removal is the mark), or
//   writes the mark after all;
// - perm, or temp on a dying job (then with qmail's extra line): appendBounce, then
//   markDone, log "failure";
// - temp: nothing written, log "deferral", the job is rescheduled.
// Failures: appendBounce failing -> the recipient is left not-done and the job deferred
// (it is tried again rather than lost); markDone failing -> job deferred, and a later
// pass delivers that recipient again (qmail's "trouble marking": a duplicate, not a loss).

import { describe, isFailure, type Outcome } from '../outcome.js';
import type { Recipient } from '../queue/types.js';
import { failureParagraph } from '../bounce/paragraph.js';
import type { SendEvents } from '../log/index.js';
import type { Queue } from '../queue/types.js';
import type { Completer } from './complete.js';
import type { Job } from './job.js';
import { DYING_LINE } from './retry.js';
import type { DeliveryEvent, Router, SendListener } from './types.js';

export interface ResultContext {
  readonly queue: Queue;
  readonly ev: SendEvents;
  readonly router: Router;
  readonly listener: SendListener;
}

/** Applies one recipient's outcome to the queue, the log and the listener. */
export async function recordResult(
  ctx: ResultContext, job: Job, r: Recipient, outcome: Outcome<string>, d: number,
): Promise<void> {
  const event = (report: string): DeliveryEvent => ({ id: job.id, channel: job.channel, recipient: r.address, report });
  if (outcome.kind === 'ok') {
    if (lastOfJob(job)) job.unmarked = r;
    else await markDone(ctx, job, r);
    ctx.ev.delivery(d, 'success', outcome.value);
    ctx.listener.delivered?.(event(outcome.value));
    return;
  }
  const report = describe(outcome);
  if (outcome.kind === 'temp' && !job.dying) {
    job.deferred = true;
    ctx.ev.delivery(d, 'deferral', report);
    ctx.listener.deferred?.(event(report));
    return;
  }
  const text = outcome.kind === 'temp' ? `${report}\n${DYING_LINE}` : report;
  const original = ctx.router.original?.(r.address) ?? r.address;
  const appended = await ctx.queue.appendBounce(job.id, failureParagraph(original, text));
  if (isFailure(appended)) {
    job.deferred = true;
    ctx.ev.alert('unable to append to bounce message; will retry', { id: job.id, reason: describe(appended) });
    return;
  }
  await markDone(ctx, job, r);
  ctx.ev.delivery(d, 'failure', text);
  ctx.listener.failed?.(event(text));
}

/** This delivery is the job's only one left and nothing of the job was deferred or left unmarked. */
function lastOfJob(job: Job): boolean {
  return job.outstanding === 1 && job.pending.length === 0 && !job.deferred && job.unmarked === undefined;
}

/** Writes the checkpoint of the job's unmarked recipient, unless the completer can remove the message instead. */
export async function finishUnmarked(ctx: ResultContext, completer: Completer, job: Job): Promise<void> {
  const r = job.unmarked;
  if (r === undefined) return;
  job.unmarked = undefined;
  if (!job.deferred && await completer.completeUnmarked(job.id, job.channel, r.index)) job.removed = true;
  else await markDone(ctx, job, r);
}

async function markDone(ctx: ResultContext, job: Job, r: Recipient): Promise<void> {
  const marked = await ctx.queue.markDone(job.id, job.channel, r.index);
  if (isFailure(marked)) {
    job.deferred = true;
    ctx.ev.warning(`trouble marking ${job.channel} recipient ${r.index} of ${job.id}; will deliver again`,
      { id: job.id, reason: describe(marked) });
  }
}
