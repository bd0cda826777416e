// The client side of local submission (protocol.ts): what `qmta inject` and `sendmail`
// use while a daemon runs on the home. It looks like a queue with one method,
// createWriter(), so qmail-inject's code (ts/inject) streams into it unchanged.
//
// Interface: connectSubmit(home) -> Promise<SubmitQueue | undefined> (undefined: no
// daemon listens: no socket, or nobody accepts on it).
// Failures: the daemon's answer (Z temporary, D permanent, with its status); a connection
// that breaks before the answer -> temp 4.3.0. abort() closes the connection: the
// daemon queues nothing.

import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';
import type { Envelope, MessageId, MessageWriter, Queue } from '../queue/types.js';
import { CHUNK_MAX, encodeChunk, encodeEnd, parseReply, SOCKET_NAME } from './protocol.js';

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
