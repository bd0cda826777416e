// What a delivery helper works with: qmail-local's environment, the message on a file
// descriptor, stdout/stderr (qmail-local records them in the delivery report), and the queue.
//
// Interface: HelperIo; fatal(io, name, code, text) -> code; messageStream(fd, fromStart);
// queueCopy(io, prefix, fd, envelope) -> Outcome<MessageId>.
// Failures: queueCopy: no queue -> its failure; read error -> temp 4.3.0 "unable to read message";
// a commit failure keeps its class (qmail: 'D' -> 100, otherwise 111).
// Guarantees: the message is streamed (never read whole); nothing is left in the queue when
// reading fails.

import { createReadStream, read } from 'node:fs';
import type { Readable } from 'node:stream';
import { temp, type Outcome } from '../outcome.js';
import type { Envelope, MessageId, Queue } from '../queue/types.js';
import type { ChildIo } from './child.js';

export interface HelperIo extends ChildIo {
  /** The message; qmail-local gives a seekable file. */
  readonly stdinFd: number;
  readonly openQueue: () => Promise<Outcome<Queue>>;
}

/** Prints "name: fatal: text" (or the text alone when name is '') and returns code. */
export function fatal(io: HelperIo, name: string, code: number, text: string): number {
  io.stderr.write(name === '' ? `${text}\n` : `${name}: fatal: ${text}\n`);
  return code;
}

/** The descriptor belongs to the caller (qmail-local's stdin): the stream never closes it. */
const borrowedFd = { read, close: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void) => done(null) };

/**
 * The message from the descriptor: from its current offset, or rewound to the start.
 * autoClose: false alone is not enough: destroying the stream (a loop that stops reading
 * early) would still close the fd, and a later close of a reused number hits another file.
 */
export function messageStream(fd: number, fromStart: boolean): Readable {
  return createReadStream('', { fd, autoClose: false, fs: borrowedFd, ...(fromStart ? { start: 0 } : {}) });
}

/** Queues prefix + message with the given envelope (forward, condredirect). */
export async function queueCopy(io: HelperIo, prefix: string, body: Readable, envelope: Envelope): Promise<Outcome<MessageId>> {
  const q = await io.openQueue();
  if (q.kind !== 'ok') return q;
  const w = q.value.createWriter();
  if (w.kind !== 'ok') return w;
  let f = w.value.write(Buffer.from(prefix));
  try {
    for await (const chunk of body) {
      if (f) break;
      f = w.value.write(chunk as Buffer);
    }
  } catch (err) {
    f = temp('4.3.0', `unable to read message: ${(err as Error).message}`);
  }
  if (f) {
    w.value.abort();
    return f;
  }
  return w.value.commit(envelope);
}

/** qmail's exit code for a queue failure: permanent 100, temporary 111. */
export function queueExit(kind: 'temp' | 'perm'): number {
  return kind === 'perm' ? 100 : 111;
}
