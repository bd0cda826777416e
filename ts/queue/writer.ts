// Message writers: a body streamed into the native queue writer, then the commit.
//
// Interface: `wrapWriter(native, onCommitted)` gives a DurableWriter; `writeBody(writer, body)`
// pours a BodySource (bytes or a Readable) into it, chunk by chunk.
// Failures: a write or commit failure from the core is a Failure value (ENOSPC 4.3.1, limits
// 5.1.3 / 5.1.7 / 5.5.3, ...); a Readable that errors → temp 4.3.0 and the writer is aborted.
// Guarantees: the body never becomes a JS string (string chunks from a Readable in text mode
// are encoded back to bytes, but the queue itself never decodes); a Readable is consumed with
// backpressure (its async iterator asks for the next chunk only after the previous one went
// to the core), so memory stays at one chunk whatever the body size; a failed writer leaves
// nothing in the queue.

import type { Readable } from 'node:stream';
import { nativeAwait, nativeCall, type NativeQueueWriter } from '../native.js';
import { temp, type Failure, type Outcome } from '../outcome.js';
import type { DurableWriter, Envelope, MessageId } from './types.js';

/** Wraps a native writer; `onCommitted` hears every successful commit. */
export function wrapWriter(native: NativeQueueWriter, onCommitted: (id: MessageId) => void): DurableWriter {
  const notify = (o: Outcome<MessageId>): Outcome<MessageId> => {
    if (o.kind === 'ok') onCommitted(o.value);
    return o;
  };
  return {
    id: native.id,
    get size() {
      return native.size;
    },
    write: (chunk: Uint8Array): Failure | undefined => {
      const o = nativeCall(() => native.write(chunk));
      return o.kind === 'ok' ? undefined : o;
    },
    commit: async (envelope: Envelope) =>
      notify(await nativeAwait(() => native.commit(envelope.sender, [...envelope.recipients]))),
    commitSync: (envelope: Envelope) => notify(nativeCall(() => native.commitSync(envelope.sender, [...envelope.recipients]))),
    abort: () => native.abort(),
  };
}

/** Writes a whole body (bytes or a stream) into `w`; on failure `w` is aborted. */
export async function writeBody(w: DurableWriter, body: Uint8Array | Readable): Promise<Failure | undefined> {
  const failure = body instanceof Uint8Array ? w.write(body) : await writeStream(w, body);
  if (failure) w.abort();
  return failure;
}

async function writeStream(w: DurableWriter, body: Readable): Promise<Failure | undefined> {
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const failure = w.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      if (failure) {
        body.destroy();
        return failure;
      }
    }
    return undefined;
  } catch (err) {
    return temp('4.3.0', `reading the message body: ${err instanceof Error ? err.message : String(err)}`);
  }
}
