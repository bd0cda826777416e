// The scheduler (qmail-send's role): jobs (message, channel), concurrency limits, qmail's
// retry schedule, checkpoints, completion and bounces.
//
// Interface: new Scheduler(deps); start() (recovery, todo/ scan, queue scan, then the
// queue's garbage collected every CLEANUP_MS, as qmail-send's cleanup); enqueued(id)
// (in-process commit notification); recordDirect(r) (a message delivered at accept time,
// ts/send/direct.ts); runQueue() (SIGALRM / `qmta queue run`);
// setSettings(s) (SIGHUP); stop(graceMs); snapshot() (counts, for status and tests).
// Fairness (no "silly qmail syndrome"): a channel picks its next job alternately from
// fresh mail and from due retries, so new mail keeps at least half the openings however
// many deferred jobs are due; preprocessing runs beside deliveries (intake.ts). Idle
// jobs live only in a DueHeap; a job object exists only while it is worked on, so memory
// stays O(concurrency) plus a few bytes per queued message.
// Failures: every delivery failure is a value (results.ts); an unreadable queue entry ->
// warning, retried after SYSFAIL_MS; a throwing delivery -> temp 4.3.0.

import { existsSync } from 'node:fs';
import { describe, fromException, isFailure, type Outcome } from '../outcome.js';
import { sendEvents, type Log, type SendEvents } from '../log/index.js';
import type { Channel, MessageId, Queue } from '../queue/types.js';
import { Completer } from './complete.js';
import { recordDirect, type DirectRecord } from './direct.js';
import { DueHeap } from './due-heap.js';
import { Intake, SYSFAIL_MS } from './intake.js';
import { openJob, type Delivery, type Job } from './job.js';
import { deferRemote, type RemoteDelivery } from './remote.js';
import { finishUnmarked, recordResult, type ResultContext } from './results.js';
import { scanQueue } from './scan.js';
import {
  defaultSendSettings, systemClock,
  type BounceSink, type Clock, type LocalDelivery, type Router, type SendListener, type SendSettings,
} from './types.js';

/** qmail-send's SLEEP_CLEANUP: the queue's garbage is collected every 76,431 s (21 h). */
export const CLEANUP_MS = 76_431_000;

/** Counts for status lines, metrics and tests: running deliveries per channel, jobs waiting
 *  for a slot (fresh and opened), jobs waiting for their retry time (heap), limits. */
export interface SchedulerSnapshot {
  readonly local: number;
  readonly remote: number;
  readonly deferred: number;
  readonly intake: number;
  readonly completing: number;
  readonly waiting: Record<Channel, number>;
  readonly heap: Record<Channel, number>;
  readonly limits: Record<Channel, number>;
}

export interface SchedulerDeps {
  readonly queue: Queue;
  readonly router: Router;
  readonly local: LocalDelivery;
  readonly remote?: RemoteDelivery;
  readonly bounce: BounceSink;
  readonly log: Log;
  readonly clock?: Clock;
  readonly settings?: SendSettings;
  readonly listener?: SendListener;
  /** Period of the todo/ scan that catches commits by other processes (default 1000 ms). */
  readonly todoScanMs?: number;
}

interface ChannelState {
  limit: number;
  running: number;
  readonly heap: DueHeap;
  readonly fresh: MessageId[];
  freshHead: number;
  /** Open jobs that still have unstarted deliveries. */
  readonly jobs: Job[];
  /** Alternates fresh mail and due retries when opening a job. */
  freshTurn: boolean;
}

export class Scheduler {
  private readonly queue: Queue;
  private readonly clock: Clock;
  private readonly ev: SendEvents;
  private readonly ctx: ResultContext;
  private readonly intake: Intake;
  private readonly completer: Completer;
  private settings: SendSettings;
  private readonly chans: Record<Channel, ChannelState>;
  private readonly activeJobs = new Set<string>();
  private deliveryNumber = 0;
  /** Deferred jobs whose retry time is being persisted. */
  private deferring = 0;
  private timer: { at: number; handle: unknown } | undefined;
  private scanTimer: unknown;
  private cleanupTimer: unknown;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: SchedulerDeps) {
    this.queue = deps.queue;
    this.clock = deps.clock ?? systemClock;
    this.ev = sendEvents(deps.log);
    this.settings = deps.settings ?? defaultSendSettings;
    this.ctx = { queue: deps.queue, ev: this.ev, router: deps.router, listener: deps.listener ?? {} };
    this.chans = { local: newChannel(this.settings.concurrencyLocal), remote: newChannel(this.settings.concurrencyRemote) };
    this.intake = new Intake({ queue: deps.queue, router: deps.router, ev: this.ev, clock: this.clock },
      (id, l, r) => this.ready(id, l, r));
    this.completer = new Completer({
      queue: deps.queue, ev: this.ev, clock: this.clock, bounce: deps.bounce, listener: deps.listener ?? {},
      busy: (id, except) => (['local', 'remote'] as const).some((ch) => ch !== except && this.activeJobs.has(key(id, ch))),
      enqueued: (id) => this.enqueued(id),
      progress: () => this.checkIdle(),
    });
  }

  /** Start-up: recovery, todo/ scan, then the preprocessed queue (in chunks, mail flows meanwhile). */
  async start(): Promise<void> {
    const report = this.queue.recover({ now: this.clock.now() });
    for (const r of report.removed) this.ev.warning(`removed stale queue file ${r}`);
    for (const q of report.quarantined) this.ev.alert(`quarantined ${q.id}: ${q.reason}`, { id: q.id });
    this.logStatus();
    this.scanTodo();
    this.armCleanup();
    await scanQueue(this.queue, (id) => this.intake.has(id), (id, ch, at) => this.schedule(id, ch, at), this.clock.now());
    this.pumpAll();
  }

  /** A message was committed to todo/: preprocess it now. */
  enqueued(id: MessageId): void {
    this.intake.add(id);
  }

  /** Logs and announces recipients delivered at accept time, numbered with the rest. */
  recordDirect(record: DirectRecord): void {
    recordDirect(this.ev, this.deps.listener ?? {}, () => ++this.deliveryNumber, record);
  }

  /** Every deferred job becomes due now (SIGALRM, `qmta queue run`). */
  runQueue(): void {
    const now = this.clock.now();
    this.chans.local.heap.makeAllDue(now);
    this.chans.remote.heap.makeAllDue(now);
    this.pumpAll();
  }

  /** New limits and lifetime (SIGHUP). */
  setSettings(s: SendSettings): void {
    this.settings = s;
    this.chans.local.limit = s.concurrencyLocal;
    this.chans.remote.limit = s.concurrencyRemote;
    this.pumpAll();
  }

  /** Stops starting deliveries and waits (at most graceMs) for the running ones. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    this.intake.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    if (this.scanTimer !== undefined) this.clock.clearTimeout(this.scanTimer);
    if (this.cleanupTimer !== undefined) this.clock.clearTimeout(this.cleanupTimer);
    const deadline = Date.now() + graceMs;
    while (this.running() + this.deferring > 0 && Date.now() < deadline) await sleep(20);
    this.logStatus(true);
  }

  /** Counts for status lines and tests. */
  snapshot(): SchedulerSnapshot {
    const { local, remote } = this.chans;
    const waiting = (st: ChannelState) => st.fresh.length - st.freshHead + st.jobs.length;
    return {
      local: local.running, remote: remote.running,
      deferred: local.heap.size + remote.heap.size,
      intake: this.intake.busy, completing: this.completer.busy,
      waiting: { local: waiting(local), remote: waiting(remote) },
      heap: { local: local.heap.size, remote: remote.heap.size },
      limits: { local: local.limit, remote: remote.limit },
    };
  }

  /** Resolves when nothing is running, being preprocessed, or due now (tests). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => { this.idleWaiters.push(resolve); this.checkIdle(); });
  }

  private running(): number {
    return this.chans.local.running + this.chans.remote.running;
  }

  private scanTodo(): void {
    if (this.stopping) return;
    // While intake still has work, entries committed by other processes wait for the next
    // scan: a big todo/ is not listed again every period.
    try {
      if (this.intake.active === 0) for (const id of this.queue.listTodo()) this.intake.add(id);
    } catch (err) {
      this.ev.alert(`unable to scan todo/: ${String(err)}; will retry`);
    }
    this.scanTimer = this.clock.setTimeout(() => this.scanTodo(), this.deps.todoScanMs ?? 1000);
  }

  /** qmail-send's periodic cleanup: garbage left by crashed adds, removed while running. */
  private armCleanup(): void {
    this.cleanupTimer = this.clock.setTimeout(() => void this.cleanup(), CLEANUP_MS);
  }

  private async cleanup(): Promise<void> {
    if (this.stopping) return;
    const removed = await this.queue.collectGarbage({ now: this.clock.now() });
    if (isFailure(removed)) this.ev.warning('trouble cleaning the queue; will retry', { reason: describe(removed) });
    else for (const r of removed.value) this.ev.warning(`removed stale queue file ${r}`);
    if (!this.stopping) this.armCleanup();
  }

  private ready(id: MessageId, hasLocal: boolean, hasRemote: boolean): void {
    if (!hasLocal && !hasRemote) return void this.completer.check(id);
    if (hasLocal) this.chans.local.fresh.push(id);
    if (hasRemote) this.chans.remote.fresh.push(id);
    this.pumpAll();
  }

  private schedule(id: MessageId, ch: Channel, at: number): void {
    this.chans[ch].heap.push(at, id, ch);
    this.armTimer();
  }

  private pumpAll(): void {
    this.pump('local');
    this.pump('remote');
    this.armTimer();
    this.checkIdle();
  }

  private pump(ch: Channel): void {
    const st = this.chans[ch];
    while (!this.stopping && st.running < st.limit) {
      const job = st.jobs[0] ?? this.openNext(ch);
      if (!job) return;
      const delivery = job.pending.shift()!;
      if (job.pending.length === 0) st.jobs.shift();
      this.startDelivery(job, delivery);
    }
  }

  /** Opens the next job with work: fresh mail and due retries take turns. */
  private openNext(ch: Channel): Job | undefined {
    const st = this.chans[ch];
    for (;;) {
      const id = this.takeId(st);
      if (id === undefined) return undefined;
      if (this.activeJobs.has(key(id, ch)) || this.completer.has(id)) continue;
      const opened = openJob(this.queue, id, ch, this.clock.now(), this.settings.queueLifetime);
      if (isFailure(opened)) {
        // Finished and removed meanwhile (e.g. scheduled on both channels after a crash).
        if (!bodyExists(this.queue, id)) continue;
        this.ev.warning(`trouble opening ${ch} job ${id}; will retry`, { id, reason: describe(opened) });
        this.schedule(id, ch, this.clock.now() + SYSFAIL_MS);
        continue;
      }
      const job = opened.value;
      this.activeJobs.add(key(id, ch));
      if (job.pending.length === 0) {
        this.finishJob(job);
        continue;
      }
      st.jobs.push(job);
      return job;
    }
  }

  private takeId(st: ChannelState): MessageId | undefined {
    const dueAt = st.heap.peekTime();
    const due = dueAt !== undefined && dueAt <= this.clock.now();
    const hasFresh = st.freshHead < st.fresh.length;
    st.freshTurn = !st.freshTurn;
    if (hasFresh && (st.freshTurn || !due)) return takeFresh(st);
    return due ? st.heap.pop()!.id : undefined;
  }

  private startDelivery(job: Job, d: Delivery): void {
    const st = this.chans[job.channel];
    st.running++;
    job.outstanding++;
    const numbers = d.recipients.map((r) => {
      const n = ++this.deliveryNumber;
      this.ev.startDelivery(n, job.id, job.channel, r.address);
      return n;
    });
    this.logStatus();
    void this.runDelivery(job, d)
      .then((outcomes) => Promise.all(d.recipients.map((r, i) =>
        recordResult(this.ctx, job, r, outcomes[i]!, numbers[i]!))))
      .then(() => finishUnmarked(this.ctx, this.completer, job))
      .catch((err) => { job.deferred = true; this.ev.alert(`delivery bookkeeping failed: ${String(err)}`, { id: job.id }); })
      .finally(() => {
        st.running--;
        job.outstanding--;
        this.logStatus();
        if (job.outstanding === 0 && job.pending.length === 0) this.finishJob(job);
        this.pumpAll();
      });
  }

  /** Runs one delivery; any throw becomes temp 4.3.0 for each of its recipients. */
  private async runDelivery(job: Job, d: Delivery): Promise<Outcome<string>[]> {
    try {
      if (job.channel === 'local') {
        const r = d.recipients[0]!;
        return [await this.deps.local.deliver({ id: job.id, bodyPath: job.bodyPath, sender: d.sender, recipient: r.address })];
      }
      const remote = this.deps.remote ?? deferRemote;
      const results = await remote.deliver({
        id: job.id, bodyPath: job.bodyPath, sender: d.sender, domain: d.domain,
        recipients: d.recipients.map((r) => r.address),
      });
      const byAddress = new Map(results.map((x) => [x.address, x.outcome]));
      return d.recipients.map((r) => byAddress.get(r.address) ?? fromException(new Error('no result for recipient')));
    } catch (err) {
      const f = fromException(err);
      return d.recipients.map(() => f);
    }
  }

  private finishJob(job: Job): void {
    if (job.deferred && !job.removed) return void this.deferJob(job);
    this.activeJobs.delete(key(job.id, job.channel));
    if (!job.removed) this.completer.check(job.id);
  }

  /** Persists the retry time (the queue settles the message first: fsyncs), then waits. */
  private async deferJob(job: Job): Promise<void> {
    this.deferring++;
    const persisted = await this.queue.setNextAttempt(job.id, job.channel, job.next);
    if (isFailure(persisted)) this.ev.warning(`unable to persist retry time of ${job.id}`, { reason: describe(persisted) });
    this.deferring--;
    this.activeJobs.delete(key(job.id, job.channel));
    // A stop abandons this job; its recipients stay not-done on disk and the next start resumes them.
    if (!this.stopping) this.schedule(job.id, job.channel, job.next);
    this.checkIdle();
  }

  private armTimer(): void {
    if (this.stopping) return;
    const now = this.clock.now();
    let at = Infinity;
    for (const ch of ['local', 'remote'] as const) {
      const st = this.chans[ch];
      const t = st.heap.peekTime();
      // A due job waiting for a slot starts when a delivery ends (or limits change): a
      // timer for it would only spin.
      if (t === undefined || (t <= now && st.running >= st.limit)) continue;
      at = Math.min(at, t);
    }
    if (at === Infinity) return;
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    const handle = this.clock.setTimeout(() => { this.timer = undefined; this.pumpAll(); }, at - this.clock.now());
    this.timer = { at, handle };
  }

  private logStatus(exiting = false): void {
    const { local, remote } = this.chans;
    this.ev.status(local.running, local.limit, remote.running, remote.limit, exiting);
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const now = this.clock.now();
    const busy = this.running() > 0 || this.deferring > 0 || this.intake.busy > 0 || this.completer.busy > 0 ||
      (['local', 'remote'] as const).some((ch) => {
        const st = this.chans[ch];
        const due = st.heap.peekTime();
        return st.freshHead < st.fresh.length || st.jobs.length > 0 || (due !== undefined && due <= now && st.limit > 0);
      });
    if (busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function newChannel(limit: number): ChannelState {
  return { limit, running: 0, heap: new DueHeap(), fresh: [], freshHead: 0, jobs: [], freshTurn: false };
}

function takeFresh(st: ChannelState): MessageId {
  const id = st.fresh[st.freshHead++]!;
  if (st.freshHead > 1024 && st.freshHead * 2 > st.fresh.length) {
    st.fresh.splice(0, st.freshHead);
    st.freshHead = 0;
  }
  return id;
}

function bodyExists(queue: Queue, id: MessageId): boolean {
  try {
    return existsSync(queue.bodyPath(id));
  } catch {
    return false;
  }
}

function key(id: MessageId, ch: Channel): string {
  return ch === 'local' ? `${id}\0l` : `${id}\0r`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
