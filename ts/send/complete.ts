// Message completion (qmail.md §2.6): once every recipient of both channels is done, the
// bounce (if any failure paragraphs) is queued, then the message is removed.
//
// Interface: new Completer(ctx); check(id) after a job ends with no deferral or after
// preprocessing found no recipients; completeUnmarked(id, channel, index) after the last
// delivery of a message whose done mark was skipped (results.ts): true when it removed the
// message, false when the caller must write the mark after all; busy = completions in progress.
// Failures: a channel list that cannot be read, a bounce that cannot be queued or a
// removal that fails -> warning, retried after SYSFAIL_MS (the message stays queued;
// a crash between queuing the bounce and removal sends the bounce twice, as qmail).
// Guarantees: one completion at a time per message; never while a job of it runs (other
// than the caller's own, for completeUnmarked). Removing the message is the last
// recipient's done mark: a crash before the removal is durable delivers it again (a
// duplicate, never a loss).

import { describe, isFailure } from '../outcome.js';
import type { SendEvents } from '../log/index.js';
import type { Channel, MessageId, Queue } from '../queue/types.js';
import { SYSFAIL_MS } from './intake.js';
import type { BounceSink, Clock, SendListener } from './types.js';

export interface CompleterContext {
  readonly queue: Queue;
  readonly ev: SendEvents;
  readonly clock: Clock;
  readonly bounce: BounceSink;
  readonly listener: SendListener;
  /** True while a job of the message runs (it will call check when it ends), other than `except`'s. */
  readonly busy: (id: MessageId, except?: Channel) => boolean;
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

  /**
   * Completes the message at once when the caller's unmarked recipient is its last one and
   * there is no bounce to send; false (nothing written) otherwise or when the removal failed.
   */
  async completeUnmarked(id: MessageId, channel: Channel, index: number): Promise<boolean> {
    if (this.completing.has(id) || this.ctx.busy(id, channel) || !this.allDone(id, { channel, index })) return false;
    const paragraphs = this.ctx.queue.readBounce(id);
    if (isFailure(paragraphs) || paragraphs.value !== undefined) return false;
    this.completing.add(id);
    try {
      return await this.complete(id);
    } catch (err) {
      this.trouble(id, 'completing', String(err));
      return false;
    } finally {
      this.completing.delete(id);
      this.ctx.progress?.();
    }
  }

  /** Every recipient done on disk, `unmarked` (delivered, mark not written) counting as done. */
  private allDone(id: MessageId, unmarked?: { channel: Channel; index: number }): boolean {
    for (const ch of ['local', 'remote'] as const) {
      const r = this.ctx.queue.recipients(id, ch);
      if (isFailure(r)) {
        this.ctx.ev.warning(`unable to read ${ch} recipients of ${id}`, { id, reason: describe(r) });
        return false;
      }
      if (r.value.some((x) => !x.done && !(ch === unmarked?.channel && x.index === unmarked.index))) return false;
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
