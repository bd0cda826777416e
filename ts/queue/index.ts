// The durable queue (crates/queue through ts/native.ts) behind the Queue contract of
// ./types.ts. Every method maps one-to-one onto a native call; this file only turns
// results into Outcomes, applies defaults and logs what recovery did.
//
// Interface: openQueue(root, { maxRecipients?, log? }) → Outcome<DurableQueue>.
// Failures: Outcome values from the core (see types.ts); openQueue fails temporary when the
// folder cannot be created (read-only, full, ...) and permanent 5.3.5 on a bad maxRecipients.
// Methods returning plain values throw QueueError on a broken contract (bad id) or an
// unusable queue folder.
// Guarantees: adds, markDone, appendBounce, setNextAttempt and remove resolve only when
// durable and run on the core's own threads (the event loop and the libuv pool stay
// free); preprocess writes without fsync (its durability comes with the first of those:
// types.ts) and so runs on the calling thread; bodies never become JS strings; a path
// body is copied inside the core.

import { Readable } from 'node:stream';
import { nativeAwait, nativeCall, openNativeQueue, type NativeQueue } from '../native.js';
import { describe, type Failure, type Outcome } from '../outcome.js';
import type {
  BodySource, Channel, DurableQueue, DurableWriter, Envelope, MessageId, QueuedMessage, QueueLog,
  QueueOptions, Recipient, RecoveryReport,
} from './types.js';
import { wrapWriter, writeBody } from './writer.js';

export type * from './types.js';

/** qmail-clean's age for half-written garbage: 36 hours (OSSIFIED). */
export const GARBAGE_AGE_MS = 36 * 3600 * 1000;

/** A Failure where the contract wants a plain value: a bug or an unusable queue folder. */
export class QueueError extends Error {
  constructor(readonly failure: Failure) {
    super(describe(failure));
    this.name = 'QueueError';
  }
}

function must<T>(o: Outcome<T>): T {
  if (o.kind === 'ok') return o.value;
  throw new QueueError(o);
}

/** Opens (creating when missing) the queue at `root`. */
export function openQueue(root: string, opts: QueueOptions = {}): Outcome<DurableQueue> {
  const native = openNativeQueue(root, opts.maxRecipients);
  return native.kind === 'ok' ? { kind: 'ok', value: new NativeBackedQueue(root, native.value, opts.log) } : native;
}

type Routed = { readonly local: readonly string[]; readonly remote: readonly string[] };

class NativeBackedQueue implements DurableQueue {
  private readonly listeners = new Set<(id: MessageId) => void>();
  // A listener that throws must not turn a durable commit into a failed add.
  private readonly committed = (id: MessageId): void =>
    this.listeners.forEach((l) => {
      try {
        l(id);
      } catch (err) {
        this.log?.error({ id, err: String(err) }, 'queue commit listener threw');
      }
    });

  constructor(readonly root: string, private readonly q: NativeQueue, private readonly log?: QueueLog) {}

  createWriter(): Outcome<DurableWriter> {
    const w = nativeCall(() => this.q.createWriter());
    return w.kind === 'ok' ? { kind: 'ok', value: wrapWriter(w.value, this.committed) } : w;
  }

  async add(envelope: Envelope, body: BodySource): Promise<Outcome<MessageId>> {
    // A Readable first: an fs.ReadStream has a `path` too, but may cover part of its file.
    if (!(body instanceof Uint8Array) && !(body instanceof Readable)) return this.addFile(envelope, body.path, body.prefix);
    const w = this.createWriter();
    if (w.kind !== 'ok') return w;
    const failure = await writeBody(w.value, body);
    return failure ?? w.value.commit(envelope);
  }

  private async addFile(envelope: Envelope, path: string, prefix?: Uint8Array): Promise<Outcome<MessageId>> {
    const pre = Buffer.from(prefix ?? new Uint8Array(0));
    const o = await nativeAwait(() => this.q.addFile(pre, path, envelope.sender, [...envelope.recipients]));
    if (o.kind === 'ok') this.committed(o.value);
    return o;
  }

  onCommit(listener: (id: MessageId) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listTodo(): MessageId[] {
    return must(nativeCall(() => this.q.listTodo()));
  }

  readTodo(id: MessageId): Outcome<Envelope & { readonly birth: number }> {
    return nativeCall(() => this.q.readTodo(id));
  }

  /** On this thread: an unsettled preprocessing does no fsync (a few file creates). */
  preprocess(id: MessageId, routed: Routed): Promise<Outcome<void>> {
    return Promise.resolve(this.preprocessSync(id, routed));
  }

  preprocessSync(id: MessageId, routed: Routed): Outcome<void> {
    return nativeCall(() => this.q.preprocessSync(id, [...routed.local], [...routed.remote]));
  }

  listQueued(): MessageId[] {
    return must(nativeCall(() => this.q.listQueued()));
  }

  info(id: MessageId): Outcome<QueuedMessage> {
    return nativeCall(() => ({ id, ...this.q.info(id) }));
  }

  recipients(id: MessageId, channel: Channel): Outcome<Recipient[]> {
    return nativeCall(() => this.q.recipients(id, channel));
  }

  markDone(id: MessageId, channel: Channel, index: number): Promise<Outcome<void>> {
    return nativeAwait(() => this.q.markDone(id, channel, index));
  }

  markDoneSync(id: MessageId, channel: Channel, index: number): Outcome<void> {
    return nativeCall(() => this.q.markDoneSync(id, channel, index));
  }

  appendBounce(id: MessageId, paragraph: string): Promise<Outcome<void>> {
    return nativeAwait(() => this.q.appendBounce(id, paragraph));
  }

  readBounce(id: MessageId): Outcome<string | undefined> {
    return nativeCall(() => this.q.readBounce(id) ?? undefined);
  }

  bodyPath(id: MessageId): string {
    return must(nativeCall(() => this.q.bodyPath(id)));
  }

  setNextAttempt(id: MessageId, channel: Channel, atMs: number): Promise<Outcome<void>> {
    return nativeAwait(() => this.q.setNextAttempt(id, channel, atMs));
  }

  nextAttempt(id: MessageId, channel: Channel): number | undefined {
    return must(nativeCall(() => this.q.nextAttempt(id, channel) ?? undefined));
  }

  remove(id: MessageId): Promise<Outcome<void>> {
    return nativeAwait(() => this.q.remove(id));
  }

  removeSync(id: MessageId): Outcome<void> {
    return nativeCall(() => this.q.removeSync(id));
  }

  quarantine(id: MessageId, reason: string): Outcome<void> {
    const o = nativeCall(() => this.q.quarantine(id, reason));
    if (o.kind === 'ok') this.log?.warn({ id, reason, dir: o.value }, 'queue entry quarantined');
    return o.kind === 'ok' ? { kind: 'ok', value: undefined } : o;
  }

  collectGarbage(opts: { readonly now?: number; readonly garbageAgeMs?: number } = {}): Promise<Outcome<string[]>> {
    return nativeAwait(() => this.q.collectGarbage(opts.now ?? Date.now(), opts.garbageAgeMs ?? GARBAGE_AGE_MS));
  }

  recover(opts: { readonly now?: number; readonly garbageAgeMs?: number } = {}): RecoveryReport {
    const r = must(nativeCall(() => this.q.recover(opts.now ?? Date.now(), opts.garbageAgeMs ?? GARBAGE_AGE_MS)));
    for (const { id, reason } of r.quarantined) this.log?.warn({ id, reason }, 'damaged queue entry moved to quarantine');
    if (r.removed.length > 0) this.log?.info({ removed: r.removed }, 'half-written queue garbage removed');
    return r;
  }

  stats(): { readonly messages: number; readonly todo: number } {
    return must(nativeCall(() => this.q.stats()));
  }

  counters(): { readonly commits: number; readonly fileFsyncs: number; readonly dirFsyncs: number } {
    return this.q.counters();
  }
}
