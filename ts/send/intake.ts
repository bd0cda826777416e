// Intake: committed messages (todo/) become scheduled jobs (qmail.md §2.4).
//
// Interface: new Intake(ctx, ready) ; add(id) on an in-process commit notification or a
// todo/ scan; `ready(id, hasLocal, hasRemote)` is called once a message is preprocessed.
// Runs up to PARALLEL preprocessings at once, interleaved with deliveries on the event
// loop (each is a few fsyncs off the main thread), so a burst of new mail never waits for
// a deferred queue and deliveries never wait for the whole of todo/.
// Commit notifications may come twice (the queue's onCommit and the producer's own call):
// ids preprocessed recently are remembered (bounded) and ignored.
// Failures: a damaged todo entry is quarantined by the queue and logged (never fatal); a
// routing exception or a preprocess failure -> warning, retried after SYSFAIL_MS.

import { describe, fromException, isFailure } from '../outcome.js';
import type { SendEvents } from '../log/index.js';
import type { MessageId, Queue } from '../queue/types.js';
import type { Clock, Router } from './types.js';

const PARALLEL = 16;
/** Recently preprocessed ids remembered, so a second notification of one commit is ignored. */
const RECENT = 4096;
/** qmail's SLEEP_SYSFAIL: a failing system call is retried after 123 s. */
export const SYSFAIL_MS = 123_000;

export interface IntakeContext {
  readonly queue: Queue;
  readonly router: Router;
  readonly ev: SendEvents;
  readonly clock: Clock;
}

export class Intake {
  private readonly waiting: MessageId[] = [];
  private readonly known = new Set<MessageId>();
  private readonly recent = new Set<MessageId>();
  private running = 0;
  stopped = false;

  constructor(
    private readonly ctx: IntakeContext,
    private readonly ready: (id: MessageId, hasLocal: boolean, hasRemote: boolean) => void,
  ) {}

  /** True while the id waits for or is in preprocessing. */
  has(id: MessageId): boolean {
    return this.known.has(id);
  }

  /** Messages waiting or being preprocessed. */
  get busy(): number {
    return this.known.size;
  }

  /** Messages waiting for or in preprocessing now (not those waiting to be retried). */
  get active(): number {
    return this.waiting.length + this.running;
  }

  /** Queues a committed message for preprocessing (duplicates ignored). */
  add(id: MessageId): void {
    if (this.known.has(id) || this.recent.has(id) || this.stopped) return;
    this.known.add(id);
    this.waiting.push(id);
    this.drain();
  }

  private drain(): void {
    while (this.running < PARALLEL && this.waiting.length > 0 && !this.stopped) {
      const id = this.waiting.shift()!;
      this.running++;
      void this.process(id).catch((err: unknown) => this.retryLater(id, String(err))).finally(() => {
        this.running--;
        this.drain();
      });
    }
  }

  private async process(id: MessageId): Promise<void> {
    const { queue, ev } = this.ctx;
    const env = queue.readTodo(id);
    if (isFailure(env)) {
      this.known.delete(id);
      ev.warning(`unable to read todo/${id}`, { id, reason: describe(env) });
      return;
    }
    ev.newMsg(id);
    let routed: { local: string[]; remote: string[] };
    try {
      routed = this.ctx.router.route(env.value.recipients);
    } catch (err) {
      return this.retryLater(id, describe(fromException(err)));
    }
    const done = await queue.preprocess(id, routed);
    if (isFailure(done)) return this.retryLater(id, describe(done));
    const info = queue.info(id);
    ev.infoMsg(id, isFailure(info) ? 0 : info.value.size, env.value.sender);
    this.known.delete(id);
    this.remember(id);
    this.ready(id, routed.local.length > 0, routed.remote.length > 0);
  }

  /** Bounded memory of finished ids (oldest forgotten first: Sets keep insertion order). */
  private remember(id: MessageId): void {
    this.recent.add(id);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.values().next().value!);
  }

  private retryLater(id: MessageId, reason: string): void {
    this.ctx.ev.warning(`trouble preprocessing ${id}; will retry`, { id, reason });
    this.ctx.clock.setTimeout(() => {
      this.known.delete(id);
      this.add(id);
    }, SYSFAIL_MS);
  }
}
