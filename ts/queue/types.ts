// The queue's TypeScript contract. crates/queue implements it in Rust; ts/queue/index.ts
// wraps the native calls into this shape. The scheduler (ts/send), the injector
// (ts/inject), the SMTP listener (ts/smtpd) and bounces (ts/bounce) code against it.
//
// Layout and states (qmail's straight paper path, every folder split into hashed
// subfolders): mess/ body, intd/ envelope being written, todo/ committed (the link
// intd -> todo is the commit point), info/ + local/ + remote/ preprocessed, bounce/
// failure paragraphs, quarantine/ damaged entries. Which folder a file is in is its state.

import type { Readable } from 'node:stream';
import type { Failure, Outcome } from '../outcome.js';

/** A message id: the file name in every queue folder, stable while queued. */
export type MessageId = string;

/** local: delivered on this host (dot-qmail, a store); remote: sent on over SMTP. */
export type Channel = 'local' | 'remote';

export interface Envelope {
  /** Envelope sender; '' for a bounce, '#@[]' for a double bounce. */
  readonly sender: string;
  readonly recipients: readonly string[];
}

/** A message body: bytes, a stream of bytes, or a file the core copies (with optional prefix lines). */
export type BodySource = Uint8Array | Readable | { readonly path: string; readonly prefix?: Uint8Array };

export interface Recipient {
  /** Position in its channel list; markDone takes it. */
  readonly index: number;
  readonly address: string;
  readonly done: boolean;
}

export interface QueuedMessage {
  readonly id: MessageId;
  readonly sender: string;
  /** Birth time, ms since the epoch: the base of the retry schedule and queuelifetime. */
  readonly birth: number;
  /** Size of the body file in bytes. */
  readonly size: number;
}

/** A message whose body is being written as it arrives. */
export interface MessageWriter {
  /** Appends body bytes (to the page cache: durability comes at commit). */
  write(chunk: Uint8Array): Failure | undefined;
  /** Body bytes written so far. */
  readonly size: number;
  /** Makes body and envelope durable and links into todo/; resolves only after every fsync. */
  commit(envelope: Envelope): Promise<Outcome<MessageId>>;
  /** Throws away an uncommitted message, leaving no trace. */
  abort(): void;
}

export interface RecoveryReport {
  /** Half-written garbage removed (qmail-clean's job). */
  readonly removed: readonly string[];
  /** Damaged entries moved to quarantine/, with the reason. */
  readonly quarantined: readonly { readonly id: string; readonly reason: string }[];
}

export interface Queue {
  readonly root: string;
  /** Starts a streamed message. */
  createWriter(): Outcome<MessageWriter>;
  /** Queues a whole message: write, commit. */
  add(envelope: Envelope, body: BodySource): Promise<Outcome<MessageId>>;
  /** Committed, not yet preprocessed messages (todo/). */
  listTodo(): MessageId[];
  /** The envelope of a todo/ entry; a damaged entry is quarantined and reported as a failure. */
  readTodo(id: MessageId): Outcome<Envelope & { readonly birth: number }>;
  /** Routes the message, unsettled: kept in memory, todo stays until progress is recorded
   *  (markDone, appendBounce, setNextAttempt settle first: write info/ and the channel lists,
   *  fsync, then drop todo/intd), so a message delivered at once writes no bookkeeping.
   *  Idempotent: redone after a crash. */
  preprocess(id: MessageId, routed: { readonly local: readonly string[]; readonly remote: readonly string[] }): Promise<Outcome<void>>;
  /** Preprocessed messages (info/, and this process's unsettled ones). */
  listQueued(): MessageId[];
  info(id: MessageId): Outcome<QueuedMessage>;
  /** The channel's recipients with their done marks; [] when the channel has none. */
  recipients(id: MessageId, channel: Channel): Outcome<Recipient[]>;
  /** Marks one recipient done, in place, fsync'd (per-recipient checkpoint). */
  markDone(id: MessageId, channel: Channel, index: number): Promise<Outcome<void>>;
  /** Appends a failure paragraph to bounce/ (fsync'd). */
  appendBounce(id: MessageId, paragraph: string): Promise<Outcome<void>>;
  /** The accumulated failure paragraphs, or undefined when there are none. */
  readBounce(id: MessageId): Outcome<string | undefined>;
  /** Absolute path of the body file, for readers that open it in the core. */
  bodyPath(id: MessageId): string;
  /** Persists a channel's next attempt time (qmail: the channel file's mtime), settled first. */
  setNextAttempt(id: MessageId, channel: Channel, atMs: number): Promise<Outcome<void>>;
  /** The persisted next attempt time, if any. */
  nextAttempt(id: MessageId, channel: Channel): number | undefined;
  /** Removes every file of a finished message. */
  remove(id: MessageId): Promise<Outcome<void>>;
  /** Moves a damaged entry aside with its reason. */
  quarantine(id: MessageId, reason: string): Outcome<void>;
  /** Start-up recovery: removes garbage older than garbageAgeMs (default 36 h), quarantines damaged entries. */
  recover(opts?: { readonly now?: number; readonly garbageAgeMs?: number }): RecoveryReport;
  /** Recovery's garbage part alone, safe while the queue runs (qmail-clean); resolves with the removed paths. */
  collectGarbage(opts?: { readonly now?: number; readonly garbageAgeMs?: number }): Promise<Outcome<string[]>>;
  /** qmail-qstat's two counts. */
  stats(): { readonly messages: number; readonly todo: number };
}

/** Where the queue reports what it did on its own (quarantined entries, removed garbage). */
export interface QueueLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface QueueOptions {
  /** Recipients allowed per message (default 10,000; at most 100,000); more is 5.5.3. */
  readonly maxRecipients?: number;
  readonly log?: QueueLog;
}

/** The writer openQueue hands out: MessageWriter plus what worker threads and logs need. */
export interface DurableWriter extends MessageWriter {
  /** The id the message is meant to get: tentative (if another process takes it before the
   *  body file exists, the commit picks another); commit() resolves with the real one. */
  readonly id: MessageId;
  /** commit() on this thread, blocking until durable (worker threads only). */
  commitSync(envelope: Envelope): Outcome<MessageId>;
}

/** The queue openQueue returns: the Queue contract plus sync forms and notifications. */
export interface DurableQueue extends Queue {
  createWriter(): Outcome<DurableWriter>;
  /** Calls `listener` with each id committed through this object; returns the unsubscriber. */
  onCommit(listener: (id: MessageId) => void): () => void;
  /** preprocess() on this thread (worker threads only). */
  preprocessSync(id: MessageId, routed: { readonly local: readonly string[]; readonly remote: readonly string[] }): Outcome<void>;
  /** markDone() on this thread (worker threads only). */
  markDoneSync(id: MessageId, channel: Channel, index: number): Outcome<void>;
  /** remove() on this thread (worker threads only). */
  removeSync(id: MessageId): Outcome<void>;
  /** Commits and fsyncs done by this queue object so far (benchmarks, tests). */
  counters(): { readonly commits: number; readonly fileFsyncs: number; readonly dirFsyncs: number };
}
