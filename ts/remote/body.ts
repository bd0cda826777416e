// Streaming a queued message into DATA: the queue file through crates/wire (CR LF line
// ends, dot-stuffed, "." CR LF at the end) into the socket, chunk by chunk.
//
// Interface: sendBody(conn, stream) -> Failure | undefined.
// Guarantees: the body never becomes a JS string; at most one CHUNK is in flight beyond
// the socket's buffer, because each write waits for 'drain' when the socket is full
// (connection.ts), each wait bounded by timeoutremote.
// Failures: a read error from the queue file mid-body is returned (errno table class);
// the caller must then drop the connection without a final dot, so the server discards
// the partial message. ConnectionLost propagates.

import type { WireStream } from '../native.js';
import type { Failure } from '../outcome.js';
import type { SmtpConnection } from './connection.js';

export const CHUNK = 64 * 1024;

/** Sends the whole encoded message, terminator included. */
export async function sendBody(conn: SmtpConnection, stream: WireStream): Promise<Failure | undefined> {
  for (;;) {
    const chunk = stream.read(CHUNK);
    if (chunk.kind !== 'ok') return chunk;
    if (chunk.value === null) return undefined;
    await conn.write(chunk.value);
  }
}
