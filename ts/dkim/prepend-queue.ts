// A queue that puts header fields computed from the whole message in front of it before it is
// queued: DKIM-Signature (signing-queue.ts) and the ARC set (arc-seal.ts). Both must precede
// the body they cover, so the fields can only be made once the message is complete.
//
// Interface: prependingQueue(queue, fieldsFor, opts?) -> Queue. fieldsFor() is asked at each
// createWriter() and add(): undefined = nothing to add, the message goes straight to the queue;
// else a Fields function (message, envelope) -> Outcome<string> whose text (LF line ends, ''
// for none) is put in front. Every other method is the wrapped queue's own.
// How: a writer spools the message (Buffers in memory up to memoryLimit, then a 0600 file in
// spoolDir, no fsync), computes the fields at commit, and queues fields + message (the core
// copies a spooled file itself). add() with a file body ({path, prefix}: forwards, bounces,
// one-click list copies) reads the file to compute them and spools nothing.
// Failures: the Fields function's failures and spool I/O (temp 4.3.0) abort the message; the
// queue's own failures keep their class. Nothing is queued on failure, the spool is removed.
// Guarantees: the body is never a JS string; memory per message stays under memoryLimit plus
// one chunk; the commit means what the wrapped queue's commit means (fsync'd). Wrappers nest:
// the outer one's fields are computed first and end up below the inner one's.

import { closeSync, createReadStream, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { temp, type Failure, type Outcome } from '../outcome.js';
import type { BodySource, Envelope, MessageId, MessageWriter, Queue } from '../queue/types.js';

/** Header fields for a message read from `message` (read to its end exactly once). */
export type Fields = (message: AsyncIterable<Uint8Array>, envelope: Envelope) => Promise<Outcome<string>>;

export interface SpoolOptions {
  /** Where messages over memoryLimit are spooled (default the system's temporary directory). */
  readonly spoolDir?: string;
  /** Bytes kept in memory before spooling to a file (default 1 MiB). */
  readonly memoryLimit?: number;
}

const MEMORY_LIMIT = 1024 * 1024;

/** `queue`, with the fields fieldsFor() gives put in front of every message added. */
export function prependingQueue(queue: Queue, fieldsFor: () => Fields | undefined, opts: SpoolOptions = {}): Queue {
  const spool = { dir: opts.spoolDir ?? tmpdir(), limit: opts.memoryLimit ?? MEMORY_LIMIT };
  const createWriter = (): Outcome<MessageWriter> => {
    const fields = fieldsFor();
    return fields ? { kind: 'ok', value: new SpoolWriter(queue, fields, spool) } : queue.createWriter();
  };
  const add = async (envelope: Envelope, body: BodySource): Promise<Outcome<MessageId>> => {
    const fields = fieldsFor();
    if (!fields) return queue.add(envelope, body);
    if (body instanceof Readable) return addStream(createWriter, envelope, body);
    const f = await fields(sourceOf(body), envelope);
    if (f.kind !== 'ok') return f;
    return queue.add(envelope, withFields(body, Buffer.from(f.value, 'latin1')));
  };
  // Everything else is the wrapped queue's own, called on it (its private state included).
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === 'createWriter') return createWriter;
      if (prop === 'add') return add;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function sourceOf(body: Exclude<BodySource, Readable>): AsyncIterable<Uint8Array> {
  if (body instanceof Uint8Array) return Readable.from([body]);
  const prefix = body.prefix;
  return Readable.from((async function* () {
    if (prefix && prefix.length > 0) yield prefix;
    yield* createReadStream(body.path) as AsyncIterable<Uint8Array>;
  })());
}

function withFields(body: Exclude<BodySource, Readable>, fields: Buffer): BodySource {
  if (fields.length === 0) return body;
  if (body instanceof Uint8Array) return Buffer.concat([fields, body]);
  return { path: body.path, prefix: Buffer.concat([fields, body.prefix ?? Buffer.alloc(0)]) };
}

async function addStream(createWriter: () => Outcome<MessageWriter>, envelope: Envelope, body: Readable): Promise<Outcome<MessageId>> {
  const w = createWriter();
  if (w.kind !== 'ok') return w;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const f = w.value.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      if (f) {
        body.destroy();
        w.value.abort();
        return f;
      }
    }
  } catch (err) {
    w.value.abort();
    return temp('4.3.0', `reading the message body: ${err instanceof Error ? err.message : String(err)}`);
  }
  return w.value.commit(envelope);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off);
}

/** Spools a message (memory, then a file) and queues it with its fields at commit. */
class SpoolWriter implements MessageWriter {
  #chunks: Buffer[] = [];
  #size = 0;
  #fd: number | undefined;
  #path: string | undefined;

  constructor(private readonly queue: Queue, private readonly fields: Fields, private readonly spool: { dir: string; limit: number }) {}

  get size(): number {
    return this.#size;
  }

  write(chunk: Uint8Array): Failure | undefined {
    try {
      if (this.#fd === undefined && this.#size + chunk.length > this.spool.limit) this.#spill();
      if (this.#fd !== undefined) writeAll(this.#fd, chunk);
      else this.#chunks.push(Buffer.from(chunk));
      this.#size += chunk.length;
      return undefined;
    } catch (err) {
      this.abort();
      return temp('4.3.0', `unable to spool the message: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  async commit(envelope: Envelope): Promise<Outcome<MessageId>> {
    try {
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = undefined;
      const body: Exclude<BodySource, Readable> = this.#path !== undefined ? { path: this.#path } : Buffer.concat(this.#chunks);
      this.#chunks = [];
      const f = await this.fields(sourceOf(body), envelope);
      if (f.kind !== 'ok') return f;
      return await this.queue.add(envelope, withFields(body, Buffer.from(f.value, 'latin1')));
    } finally {
      this.abort();
    }
  }

  abort(): void {
    this.#chunks = [];
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    if (this.#path !== undefined) rmSync(this.#path, { force: true });
    this.#path = undefined;
  }

  /** Moves what is held in memory to a new spool file. */
  #spill(): void {
    this.#path = join(this.spool.dir, `qmta-spool.${process.pid}.${randomBytes(6).toString('hex')}`);
    this.#fd = openSync(this.#path, 'wx', 0o600);
    for (const c of this.#chunks) writeAll(this.#fd, c);
    this.#chunks = [];
  }
}
