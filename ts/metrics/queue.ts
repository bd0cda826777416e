// The queue's gauges and shape, for /metrics and the status page: cheap counts from the
// scheduler at every scrape, and a census of the queue (ts/qshape) taken in chunks between
// other work, at most once every CENSUS_MS and never more than one at a time.
//
// Interface: new QueueView(queue, scheduler, registry); shape() -> the last census (top
// domains by age, oldest birth) while starting the next one when it is due.
// Gauges: qmta_queue_messages{state} (todo: committed, not preprocessed; local / remote:
// jobs waiting for a delivery slot or running; deferred: waiting for their retry time),
// qmta_queue_oldest_message_age_seconds (from the last census; 0 for an empty queue),
// qmta_concurrency_in_use{channel}, qmta_concurrency_limit{channel}.

import { Gauge, type Registry } from 'prom-client';
import { censusAsync, geometricEdges, type Shape } from '../qshape/census.js';
import type { Queue } from '../queue/types.js';
import type { SchedulerSnapshot } from '../send/scheduler.js';

const CENSUS_MS = 30_000;

export class QueueView {
  private last: Shape | undefined;
  private lastAt = 0;
  private running = false;

  constructor(private readonly queue: Queue, private readonly scheduler: () => SchedulerSnapshot, registry: Registry) {
    const registers = [registry];
    const self = this;
    new Gauge({
      name: 'qmta_queue_messages', help: 'queued messages by state (todo, local, remote, deferred)', labelNames: ['state'], registers,
      collect() {
        const s = self.scheduler();
        this.set({ state: 'todo' }, self.queue.stats().todo);
        this.set({ state: 'local' }, s.waiting.local + s.local);
        this.set({ state: 'remote' }, s.waiting.remote + s.remote);
        this.set({ state: 'deferred' }, s.deferred);
      },
    });
    new Gauge({
      name: 'qmta_queue_oldest_message_age_seconds', help: 'age of the oldest queued message (last census, at most 30 s old)', registers,
      collect() {
        const oldest = self.shape()?.oldest;
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
    for (const [name, help, pick] of [
      ['qmta_concurrency_in_use', 'deliveries running, by channel', (s: SchedulerSnapshot) => s],
      ['qmta_concurrency_limit', 'delivery slots (concurrencylocal, concurrencyremote)', (s: SchedulerSnapshot) => s.limits],
    ] as const) {
      new Gauge({
        name, help, labelNames: ['channel'], registers,
        collect() {
          const v = pick(self.scheduler());
          this.set({ channel: 'local' }, v.local);
          this.set({ channel: 'remote' }, v.remote);
        },
      });
    }
  }

  /** The last census (undefined before the first ends); starts a new one when due. */
  shape(): Shape | undefined {
    if (!this.running && Date.now() - this.lastAt >= CENSUS_MS) {
      this.running = true;
      censusAsync(this.queue, { channels: ['local', 'remote'], edgesMin: geometricEdges(5, 10) })
        .then((s) => { this.last = s; }, () => {})
        .finally(() => { this.running = false; this.lastAt = Date.now(); });
    }
    return this.last;
  }

  /** Waits for a census in progress (tests, the first scrape). */
  async settled(): Promise<void> {
    this.shape();
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }
}
