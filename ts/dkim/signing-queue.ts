// A queue that DKIM-signs what goes into it: the one place where qmta's own producers
// (qmta inject, sendmail, Mta.send, lists, bounces) queue signed mail. Signing happens once,
// before the commit, so a message in the queue is final.
//
// Interface: signingQueue(queue, keyring, opts?) -> Queue. createWriter() and add() sign;
// every other method is the wrapped queue's own. keyring is read per message (a SIGHUP's
// new keys apply to the next one); with no keys at all both go straight to the queue.
// How: a DKIM-Signature must precede the body it covers, so a writer spools the message
// (Buffers in memory up to memoryLimit, then a 0600 file in spoolDir, no fsync), signs it at
// commit, and queues signature + message (the core copies a spooled file itself). add()
// with a file body ({path, prefix}, bounces) reads the file to sign it and spools nothing.
// The signing domain is the From field's, else the envelope sender's (signMessage).
// Failures: signing failures (sign.ts) and spool I/O (temp 4.3.0) abort the message; the
// queue's own failures keep their class. Nothing is queued on failure, the spool is removed.
// Guarantees: the body is never a JS string; memory per message stays under memoryLimit
// plus one chunk; the commit means what the wrapped queue's commit means (fsync'd).

import { closeSync, createReadStream, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { temp, type Failure, type Outcome } from '../outcome.js';
import type { BodySource, Envelope, MessageId, MessageWriter, Queue } from '../queue/types.js';
import type { Keyring } from './keyring.js';
import { signMessage } from './sign.js';

export interface SigningQueueOptions {
  /** Where messages over memoryLimit are spooled (default the system's temporary directory). */
  readonly spoolDir?: string;
  /** Bytes kept in memory before spooling to a file (default 1 MiB). */
  readonly memoryLimit?: number;
}

const MEMORY_LIMIT = 1024 * 1024;

/** The domain of an envelope sender, qmail's VERP form P@H-@[] read as P@H; undefined for <>. */
export function senderDomain(sender: string): string | undefined {
  const s = sender.endsWith('-@[]') ? sender.slice(0, -4) : sender;
  const at = s.lastIndexOf('@');
  return at < 0 || at === s.length - 1 ? undefined : s.slice(at + 1);
}

/** `queue`, signing every message added through createWriter() and add(). */
export function signingQueue(queue: Queue, keyring: () => Keyring, opts: SigningQueueOptions = {}): Queue {
  const spool = { dir: opts.spoolDir ?? tmpdir(), limit: opts.memoryLimit ?? MEMORY_LIMIT };
  const createWriter = (): Outcome<MessageWriter> => {
    const ring = keyring();
    return ring.size === 0 ? queue.createWriter() : { kind: 'ok', value: new SpoolWriter(queue, ring, spool) };
  };
  const add = async (envelope: Envelope, body: BodySource): Promise<Outcome<MessageId>> => {
    const ring = keyring();
    if (ring.size === 0) return queue.add(envelope, body);
    if (body instanceof Readable) return addStream(createWriter, envelope, body);
    const sig = await signMessage(ring, sourceOf(body), { fallbackDomain: senderDomain(envelope.sender) });
    if (sig.kind !== 'ok') return sig;
    return queue.add(envelope, withSignature(body, Buffer.from(sig.value, 'latin1')));
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

function withSignature(body: Exclude<BodySource, Readable>, sig: Buffer): BodySource {
  if (sig.length === 0) return body;
  if (body instanceof Uint8Array) return Buffer.concat([sig, body]);
  return { path: body.path, prefix: Buffer.concat([sig, body.prefix ?? Buffer.alloc(0)]) };
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

/** Spools a message (memory, then a file) and queues it signed at commit. */
class SpoolWriter implements MessageWriter {
  #chunks: Buffer[] = [];
  #size = 0;
  #fd: number | undefined;
  #path: string | undefined;

  constructor(private readonly queue: Queue, private readonly ring: Keyring, private readonly spool: { dir: string; limit: number }) {}

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
      return temp('4.3.0', `unable to spool the message for signing: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  async commit(envelope: Envelope): Promise<Outcome<MessageId>> {
    try {
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = undefined;
      const body: Exclude<BodySource, Readable> = this.#path !== undefined ? { path: this.#path } : Buffer.concat(this.#chunks);
      this.#chunks = [];
      const sig = await signMessage(this.ring, sourceOf(body), { fallbackDomain: senderDomain(envelope.sender) });
      if (sig.kind !== 'ok') return sig;
      return await this.queue.add(envelope, withSignature(body, Buffer.from(sig.value, 'latin1')));
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
    this.#path = join(this.spool.dir, `qmta-sign.${process.pid}.${randomBytes(6).toString('hex')}`);
    this.#fd = openSync(this.#path, 'wx', 0o600);
    for (const c of this.#chunks) writeAll(this.#fd, c);
    this.#chunks = [];
  }
}
