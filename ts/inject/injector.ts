// qmail-inject inside a long-running process (the daemon, the embedding API): header fixups
// run in a worker pool, the body streams from the caller straight into the queue, and the
// scheduler is told about the new message at once.
//
// Interface: createInjector(deps) -> Injector { inject(message, options), close() };
// injectorFor(owner, deps) -> the one injector of owner (made on first use; the embedding
// API's Mta.send uses it, so Mta needs no field of its own).
// options: recipients (like command-line arguments), strategy (default: recipients if given,
// else the header's), sender (-f), env (qmail-inject's environment variables: masquerading,
// QMAILINJECT; defaults to {} so the host process's USER does not leak into mail).
// Failures: as injectStream (perm for bad messages, temp for queue/system trouble).
// Signing: with deps.keyring, messages are DKIM-signed before the commit (the one place local
// submission queues through; ts/dkim/signing-queue.ts).
// Guarantees: success means committed (fsync'd) to the queue; notify(id) is called after the
// commit and only then; Message-IDs stay unique within the process ("<pid>.<n>" tags).

import { Readable } from 'node:stream';
import type { Outcome } from '../outcome.js';
import type { MessageId, Queue } from '../queue/types.js';
import type { RecipientStrategy } from './fixup.js';
import { controlsFromEnv, identityFromEnv, type Env, type InjectControls } from './identity.js';
import { DEFAULT_MAX_HEADER_BYTES, injectStream, type InjectResult } from './inject.js';
import { createFixupPool, type FixupPool } from './pool.js';
import type { Keyring } from '../dkim/keyring.js';
import { signingQueue } from '../dkim/signing-queue.js';

export interface InjectorDeps {
  readonly queue: Queue;
  /** Current control values (read per message, so a reload takes effect). */
  readonly controls: () => InjectControls;
  /** Called with each committed id (the scheduler's enqueued). */
  readonly notify?: (id: MessageId) => void;
  readonly clock?: () => number;
  readonly maxHeaderBytes?: number;
  /** A pool to share; one is started (and closed by close()) when absent. */
  readonly pool?: FixupPool;
  /** Mailing-list addresses for Mail-Followup-To (QMAILMFTFILE's list). */
  readonly mft?: readonly string[];
  /** DKIM keys (read per message): every message is signed before it is queued (ts/dkim). */
  readonly keyring?: () => Keyring;
}

/** Options of {@link Mta.send}: what `qmta inject`'s arguments and environment say. */
export interface InjectOptions {
  /** Envelope recipients (as command-line arguments); default: those of the header. */
  readonly recipients?: readonly string[];
  /** Where the recipients come from (qmail-inject's -a, -h, -H, -A). */
  readonly strategy?: RecipientStrategy;
  /** Envelope sender (-f); default from the environment's identity or the From field. */
  readonly sender?: string;
  /** qmail-inject's environment (masquerading, QMAILINJECT flags); default none. */
  readonly env?: Env;
}

/** A message given to {@link Mta.send}: bytes, text, or a stream of bytes. */
export type MessageInput = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface Injector {
  inject(message: MessageInput, options?: InjectOptions): Promise<Outcome<InjectResult>>;
  close(): Promise<void>;
}

function toSource(m: MessageInput): Readable | AsyncIterable<Uint8Array> {
  if (typeof m === 'string') return Readable.from([Buffer.from(m, 'utf8')]);
  if (m instanceof Uint8Array) return Readable.from([m]);
  return m;
}

const owned = new WeakMap<object, Injector>();

/** The injector belonging to owner, created with deps() on first use. Its idle worker does not keep the process alive. */
export function injectorFor(owner: object, deps: () => InjectorDeps): Injector {
  let inj = owned.get(owner);
  if (!inj) {
    inj = createInjector(deps());
    owned.set(owner, inj);
  }
  return inj;
}

/** Starts an injector over the queue. */
export function createInjector(deps: InjectorDeps): Injector {
  const pool = deps.pool ?? createFixupPool();
  const clock = deps.clock ?? Date.now;
  const queue = deps.keyring ? signingQueue(deps.queue, deps.keyring) : deps.queue;
  let seq = 0;
  return {
    async inject(message, options = {}) {
      const env = options.env ?? {};
      const ctx = {
        identity: identityFromEnv(env), controls: controlsFromEnv(deps.controls(), env), mft: deps.mft,
        nowMs: clock(), pid: process.pid, idTag: `${process.pid}.${++seq}`,
        maxHeaderBytes: deps.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, fixup: pool.run,
      };
      const request = { args: options.recipients ?? [], strategy: options.strategy ?? 'default', sender: options.sender };
      const r = await injectStream(toSource(message), request, ctx, { kind: 'queue', queue });
      if (r.kind === 'ok' && r.value.id !== undefined) deps.notify?.(r.value.id);
      return r;
    },
    async close() {
      if (!deps.pool) await pool.destroy();
    },
  };
}
