// Message completion (qmail.md §2.6): once every recipient of both channels is done, the
// bounce (if any failure paragraphs) is queued, then the message is removed.
//
// Interface: new Completer(ctx); check(id) after a job ends with no deferral or after
// preprocessing found no recipients; busy = completions in progress.
// Failures: a channel list that cannot be read, a bounce that cannot be queued or a
// removal that fails -> warning, retried after SYSFAIL_MS (the message stays queued;
// a crash between queuing the bounce and removal sends the bounce twice, as qmail).
// Guarantees: one completion at a time per message; never while a job of it runs.

import { describe, isFailure } from '../outcome.js';
import type { SendEvents } from '../log/index.js';
import type { MessageId, Queue } from '../queue/types.js';
import { SYSFAIL_MS } from './intake.js';
import type { BounceSink, Clock, SendListener } from './types.js';

export interface CompleterContext {
  readonly queue: Queue;
  readonly ev: SendEvents;
  readonly clock: Clock;
  readonly bounce: BounceSink;
  readonly listener: SendListener;
  /** True while a job of the message runs (it will call check when it ends). */
  readonly busy: (id: MessageId) => boolean;
  /** Notifies the scheduler of a newly queued bounce. */
  readonly enqueued: (id: MessageId) => void;
  /** Called after each completion attempt (idle detection). */
  readonly progress?: () => void;
}

export class Completer {
  private readonly completing = new Set<MessageId>();

  constructor(private readonly ctx: CompleterContext) {}

  get busy(): number {
    return this.completing.size;
  }

  /** True while the message is being completed (its files are going away). */
  has(id: MessageId): boolean {
    return this.completing.has(id);
  }

  /** Completes the message if all its recipients are done; safe to call any time. */
  async check(id: MessageId): Promise<void> {
    if (this.completing.has(id) || this.ctx.busy(id) || !this.allDone(id)) return;
    this.completing.add(id);
    try {
      if (!(await this.complete(id))) this.ctx.clock.setTimeout(() => void this.check(id), SYSFAIL_MS);
    } catch (err) {
      // A broken queue call: the message stays queued and is tried again later.
      this.trouble(id, 'completing', String(err));
      this.ctx.clock.setTimeout(() => void this.check(id), SYSFAIL_MS);
    } finally {
      this.completing.delete(id);
      this.ctx.progress?.();
    }
  }

  private allDone(id: MessageId): boolean {
    for (const ch of ['local', 'remote'] as const) {
      const r = this.ctx.queue.recipients(id, ch);
      if (isFailure(r)) {
        this.ctx.ev.warning(`unable to read ${ch} recipients of ${id}`, { id, reason: describe(r) });
        return false;
      }
      if (r.value.some((x) => !x.done)) return false;
    }
    return true;
  }

  /** Bounce then removal; false when something must be retried. */
  private async complete(id: MessageId): Promise<boolean> {
    const { queue, ev } = this.ctx;
    const paragraphs = queue.readBounce(id);
    if (isFailure(paragraphs)) return this.trouble(id, 'reading bounce', describe(paragraphs));
    if (paragraphs.value !== undefined && !(await this.sendBounce(id, paragraphs.value))) return false;
    ev.endMsg(id);
    const removed = await queue.remove(id);
    if (isFailure(removed)) return this.trouble(id, 'removing', describe(removed));
    this.ctx.listener.done?.({ id });
    return true;
  }

  private async sendBounce(id: MessageId, paragraphs: string): Promise<boolean> {
    const { queue, ev } = this.ctx;
    const info = queue.info(id);
    if (isFailure(info)) return this.trouble(id, 'reading info', describe(info));
    const sent = await this.ctx.bounce.send({ id, sender: info.value.sender, bodyPath: queue.bodyPath(id), paragraphs });
    if (isFailure(sent)) return this.trouble(id, 'injecting bounce message', describe(sent));
    if ('queued' in sent.value) {
      ev.bounceMsg(id, sent.value.queued);
      this.ctx.enqueued(sent.value.queued);
      this.ctx.listener.bounced?.({ id, bounce: sent.value.queued });
    } else {
      ev.tripleBounce(id);
      this.ctx.listener.bounced?.({ id, bounce: undefined });
    }
    return true;
  }

  private trouble(id: MessageId, what: string, reason: string): false {
    this.ctx.ev.warning(`trouble ${what} for ${id}; will retry`, { id, reason });
    return false;
  }
}
