// In-memory fakes for the scheduler's unit tests: a Queue that follows the contract of
// ts/queue/types.ts (without disks), a manual clock, and recording deliveries.

import { ok, perm, temp, type Outcome } from '../../ts/outcome.js';
import type {
  BodySource, Channel, Envelope, MessageId, MessageWriter, Queue, QueuedMessage, Recipient, RecoveryReport,
} from '../../ts/queue/types.js';
import type { Clock } from '../../ts/send/types.js';

interface Entry {
  sender: string;
  recipients: readonly string[];
  birth: number;
  stage: 'todo' | 'queued';
  local: { address: string; done: boolean }[];
  remote: { address: string; done: boolean }[];
  bounce?: string;
  next: Partial<Record<Channel, number>>;
}

export class FakeQueue implements Queue {
  readonly root = '/fake';
  readonly entries = new Map<MessageId, Entry>();
  readonly removed: MessageId[] = [];
  private seq = 0;

  constructor(private readonly clock: { now(): number }) {}

  createWriter(): Outcome<MessageWriter> { throw new Error('not used'); }
  async add(envelope: Envelope, _body: BodySource): Promise<Outcome<MessageId>> {
    const id = String(++this.seq);
    this.entries.set(id, { ...envelope, birth: this.clock.now(), stage: 'todo', local: [], remote: [], next: {} });
    return ok(id);
  }
  /** Adds an already preprocessed message (a deferred one, for big-queue tests). */
  addQueued(sender: string, local: string[], remote: string[], birth: number, next?: number): MessageId {
    const id = String(++this.seq);
    const mk = (a: string) => ({ address: a, done: false });
    const nexts: Partial<Record<Channel, number>> = {};
    if (next !== undefined && local.length) nexts.local = next;
    if (next !== undefined && remote.length) nexts.remote = next;
    this.entries.set(id, { sender, recipients: [...local, ...remote], birth, stage: 'queued', local: local.map(mk), remote: remote.map(mk), next: nexts });
    return id;
  }
  listTodo(): MessageId[] { return [...this.entries].filter(([, e]) => e.stage === 'todo').map(([id]) => id); }
  readTodo(id: MessageId) {
    const e = this.entries.get(id);
    if (!e || e.stage !== 'todo') return temp('4.3.0', 'no such todo entry');
    return ok({ sender: e.sender, recipients: e.recipients, birth: e.birth });
  }
  async preprocess(id: MessageId, routed: { local: readonly string[]; remote: readonly string[] }): Promise<Outcome<void>> {
    const e = this.entries.get(id)!;
    e.local = routed.local.map((a) => ({ address: a, done: false }));
    e.remote = routed.remote.map((a) => ({ address: a, done: false }));
    e.stage = 'queued';
    if (e.local.length) e.next.local = this.clock.now();
    if (e.remote.length) e.next.remote = this.clock.now();
    return ok(undefined);
  }
  listQueued(): MessageId[] { return [...this.entries].filter(([, e]) => e.stage === 'queued').map(([id]) => id); }
  info(id: MessageId): Outcome<QueuedMessage> {
    const e = this.entries.get(id);
    if (!e) return temp('4.3.0', 'no such message');
    return ok({ id, sender: e.sender, birth: e.birth, size: 100 });
  }
  recipients(id: MessageId, channel: Channel): Outcome<Recipient[]> {
    const e = this.entries.get(id);
    if (!e) return temp('4.3.0', 'no such message');
    return ok(e[channel].map((r, index) => ({ index, address: r.address, done: r.done })));
  }
  async markDone(id: MessageId, channel: Channel, index: number): Promise<Outcome<void>> {
    this.entries.get(id)![channel][index]!.done = true;
    return ok(undefined);
  }
  async appendBounce(id: MessageId, paragraph: string): Promise<Outcome<void>> {
    const e = this.entries.get(id)!;
    e.bounce = (e.bounce ?? '') + paragraph;
    return ok(undefined);
  }
  readBounce(id: MessageId): Outcome<string | undefined> { return ok(this.entries.get(id)?.bounce); }
  bodyPath(id: MessageId): string { return `/fake/mess/${id}`; }
  async setNextAttempt(id: MessageId, channel: Channel, atMs: number): Promise<Outcome<void>> {
    this.entries.get(id)!.next[channel] = atMs;
    return ok(undefined);
  }
  nextAttempt(id: MessageId, channel: Channel): number | undefined { return this.entries.get(id)?.next[channel]; }
  async remove(id: MessageId): Promise<Outcome<void>> {
    this.entries.delete(id);
    this.removed.push(id);
    return ok(undefined);
  }
  quarantine(): Outcome<void> { return ok(undefined); }
  recover(): RecoveryReport { return { removed: [], quarantined: [] }; }
  /** Times of collectGarbage calls; each reports `garbage` as removed. */
  readonly cleanups: number[] = [];
  garbage: string[] = [];
  async collectGarbage(opts: { readonly now?: number } = {}): Promise<Outcome<string[]>> {
    this.cleanups.push(opts.now ?? 0);
    return ok(this.garbage);
  }
  stats() { return { messages: this.entries.size, todo: this.listTodo().length }; }
}

/** A clock whose time only moves when the test says so. */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  constructor(public t: number) {}
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void { this.timers.delete(h as number); }
  /** Moves time forward to `t`, firing due timers in order. */
  async advanceTo(t: number): Promise<void> {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= t && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = t;
    await settle();
  }
}

/** Lets pending promise chains run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

export const splitRouter = {
  route(rcpts: readonly string[]) {
    const local: string[] = [];
    const remote: string[] = [];
    for (const r of rcpts) (r.endsWith('@here') ? local : remote).push(r);
    return { local, remote };
  },
};

export type Script = (recipient: string, attempt: number) => Outcome<string>;

export const always = {
  ok: (): Outcome<string> => ok('did 1+0+0'),
  temp: (): Outcome<string> => temp('4.2.1', 'mailbox busy'),
  perm: (): Outcome<string> => perm('5.1.1', 'Sorry, no mailbox here by that name.'),
};
