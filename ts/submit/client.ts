// The client side of local submission (protocol.ts): what `qmta inject` and `sendmail`
// use while a daemon runs on the home. It looks like a queue with one method,
// createWriter(), so qmail-inject's code (ts/inject) streams into it unchanged.
//
// Interface: connectSubmit(home) -> Promise<SubmitQueue | undefined> (undefined: no
// daemon listens: no socket, or nobody accepts on it); requestListing(home, out) ->
// Promise<Outcome<void> | undefined>: the queue listing the daemon shows this caller.
// Failures: the daemon's answer (Z temporary, D permanent, with its status); a connection
// that breaks before the answer -> temp 4.3.0. abort() closes the connection: the
// daemon queues nothing. A listing without its end mark, or an answer line over 4 KiB ->
// temp 4.3.0.

import { connect, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { join } from 'node:path';
import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';
import type { Envelope, MessageId, MessageWriter, Queue } from '../queue/types.js';
import { CHUNK_MAX, encodeChunk, encodeEnd, LIST_END, LIST_REQUEST, parseReply, SOCKET_NAME } from './protocol.js';

export type SubmitQueue = Pick<Queue, 'createWriter'>;

/** Connects to the daemon of `home`, if one listens. */
export function connectSubmit(home: string): Promise<SubmitQueue | undefined> {
  return new Promise((resolve) => {
    const s = connect(join(home, SOCKET_NAME));
    s.once('connect', () => resolve({ createWriter: () => ok(new SocketWriter(s)) }));
    s.once('error', () => resolve(undefined));
  });
}

class SocketWriter implements MessageWriter {
  size = 0;
  readonly #answer: Promise<string>;

  constructor(private readonly socket: Socket) {
    let text = '';
    this.#answer = new Promise((resolve) => {
      socket.on('data', (c: Buffer) => { if (text.length < 4096) text += c.toString('utf8'); });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
  }

  write(chunk: Uint8Array): Failure | undefined {
    for (let at = 0; at < chunk.length; at += CHUNK_MAX) this.socket.write(encodeChunk(chunk.subarray(at, at + CHUNK_MAX)));
    this.size += chunk.length;
    return undefined;
  }

  async commit(envelope: Envelope): Promise<Outcome<MessageId>> {
    this.socket.end(encodeEnd(envelope));
    const line = await this.#answer;
    if (line === '') return temp('4.3.0', 'qmta closed the submission socket without an answer');
    const r = parseReply(line);
    if (r.kind === 'ok') return ok(r.id);
    return r.kind === 'perm' ? perm(r.status, r.text) : temp(r.status, r.text);
  }

  abort(): void {
    this.socket.destroy();
  }
}

/**
 * Asks the daemon of `home` for the queue listing and streams it to `out` (with
 * backpressure: the daemon waits for us); undefined when no daemon listens.
 */
export function requestListing(home: string, out: Writable): Promise<Outcome<void> | undefined> {
  return new Promise((resolve) => {
    const s = connect(join(home, SOCKET_NAME));
    const reader = new ListingReader(out, s);
    let connected = false;
    s.once('connect', () => {
      connected = true;
      s.end(LIST_REQUEST);
    });
    s.on('error', (err) => { if (connected) reader.broken(err); });
    s.on('data', (c: Buffer) => reader.push(c));
    s.once('close', () => resolve(connected ? reader.result() : undefined));
  });
}

/** The answer line, then the listing passed on but for its last LIST_END bytes. */
class ListingReader {
  #head = '';
  #tail = Buffer.alloc(0);
  #body = false;
  #failure: Outcome<void> | undefined;

  constructor(private readonly out: Writable, private readonly socket: Socket) {}

  push(chunk: Buffer): void {
    if (!this.#body) {
      const nl = chunk.indexOf(0x0a);
      this.#head += chunk.subarray(0, nl < 0 ? chunk.length : nl).toString('utf8');
      if (this.#head.length > 4096) return void this.socket.destroy();
      if (nl < 0) return;
      this.#body = true;
      chunk = chunk.subarray(nl + 1);
    }
    const all = Buffer.concat([this.#tail, chunk]);
    const keep = Math.min(all.length, LIST_END.length);
    this.#tail = all.subarray(all.length - keep);
    if (!this.out.write(all.subarray(0, all.length - keep))) {
      this.socket.pause();
      this.out.once('drain', () => this.socket.resume());
    }
  }

  broken(err: Error): void {
    this.#failure = temp('4.3.0', `the queue listing broke off: ${err.message}`);
  }

  result(): Outcome<void> {
    if (this.#failure) return this.#failure;
    if (this.#head === '') return temp('4.3.0', 'qmta closed the socket without an answer');
    const r = parseReply(this.#head);
    if (r.kind !== 'ok') return r.kind === 'perm' ? perm(r.status, r.text) : temp(r.status, r.text);
    if (!this.#body || this.#tail.toString('latin1') !== LIST_END) return temp('4.3.0', 'the queue listing was cut short');
    return ok(undefined);
  }
}
