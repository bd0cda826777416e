// Local submission over HOME/qmta.sock (qmail-queue's interface over one UNIX socket, so
// that `qmta inject`, `sendmail` and `mailq` need no setuid bit): the client sends the
// message as netstrings ("LEN:BYTES,", at most CHUNK_MAX bytes each), an empty netstring
// "0:," ending it, then qmail-queue's envelope: "F" sender NUL, "T" recipient NUL for
// each, and a final NUL. The daemon answers one line: "K<id>" queued, "Z<text>" temporary,
// "D<text>" permanent (qmail's report letters), then closes.
// A listing (mailq): the client sends LIST_REQUEST ("Q", which no netstring begins with)
// and ends its side; the daemon answers "K" and a newline, then the queue listing in
// qmail-qread's format as it reads it (streamed with backpressure), then LIST_END (".",
// newline; no listing line is "."): a listing without it was cut short. Or one Z/D line.
//
// Interface: SOCKET_NAME; Decoder (push(chunk) -> events, bounded); encodeChunk(),
// encodeEnd(envelope); parseReply(line); LIST_REQUEST, LIST_END.
// Failures: a netstring over CHUNK_MAX, a bad length, a missing ",", an envelope over
// ENVELOPE_MAX bytes, more than MAX_RECIPIENTS, an address over ADDRESS_MAX or with CR/LF,
// no F record -> the Decoder's error (the daemon answers D...#5.5.4 and queues nothing).
// Constraint shared by server.ts (decodes) and client.ts (encodes).

import type { Envelope } from '../queue/types.js';

export const SOCKET_NAME = 'qmta.sock';
export const CHUNK_MAX = 1024 * 1024;
export const ENVELOPE_MAX = 1024 * 1024;
export const MAX_RECIPIENTS = 10_000;
export const ADDRESS_MAX = 1024;
export const LIST_REQUEST = 'Q';
export const LIST_END = '.\n';

export type Event = { kind: 'body'; bytes: Buffer } | { kind: 'envelope'; envelope: Envelope } | { kind: 'error'; text: string };

/** Incremental decoder of one submission. */
export class Decoder {
  #buf: Buffer = Buffer.alloc(0);
  #state: 'body' | 'envelope' | 'done' = 'body';

  push(chunk: Buffer): Event[] {
    if (this.#state === 'done') return [{ kind: 'error', text: 'data after the envelope' }];
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Event[] = [];
    while (this.#state === 'body') {
      const colon = this.#buf.indexOf(0x3a);
      if (colon < 0) {
        if (this.#buf.length > 8) return [...out, { kind: 'error', text: 'bad netstring length' }];
        return out;
      }
      const len = /^\d{1,7}$/.test(this.#buf.subarray(0, colon).toString('latin1')) ? Number(this.#buf.subarray(0, colon).toString('latin1')) : -1;
      if (len < 0 || len > CHUNK_MAX) return [...out, { kind: 'error', text: 'bad netstring length' }];
      if (this.#buf.length < colon + 1 + len + 1) return out;
      if (this.#buf[colon + 1 + len] !== 0x2c) return [...out, { kind: 'error', text: 'netstring without ","' }];
      const bytes = this.#buf.subarray(colon + 1, colon + 1 + len);
      this.#buf = this.#buf.subarray(colon + 2 + len);
      if (len === 0) this.#state = 'envelope';
      else out.push({ kind: 'body', bytes: Buffer.from(bytes) });
    }
    if (this.#buf.length > ENVELOPE_MAX) return [...out, { kind: 'error', text: 'envelope too long' }];
    const end = this.#buf.indexOf(Buffer.from([0, 0]));
    if (end < 0 && !(this.#buf.length === 1 && this.#buf[0] === 0)) return out;
    const env = parseEnvelope(this.#buf.subarray(0, end < 0 ? 0 : end + 1));
    this.#state = 'done';
    return [...out, env];
  }
}

function parseEnvelope(b: Buffer): Event {
  const fields = b.toString('utf8').split('\0').slice(0, -1);
  const sender = fields[0];
  if (sender === undefined || !sender.startsWith('F')) return { kind: 'error', text: 'envelope without a sender' };
  const rcpts = fields.slice(1);
  if (rcpts.length === 0 || rcpts.length > MAX_RECIPIENTS) return { kind: 'error', text: `need 1 to ${MAX_RECIPIENTS} recipients` };
  const bad = [sender, ...rcpts].find((f) => f.length > ADDRESS_MAX + 1 || /[\r\n]/.test(f));
  if (bad !== undefined || rcpts.some((r) => !r.startsWith('T') || r.length === 1)) return { kind: 'error', text: 'bad envelope address' };
  return { kind: 'envelope', envelope: { sender: sender.slice(1), recipients: rcpts.map((r) => r.slice(1)) } };
}

/** One body chunk as a netstring. */
export function encodeChunk(bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes, Buffer.from(',')]);
}

/** The end of the body and the envelope. */
export function encodeEnd(e: Envelope): Buffer {
  return Buffer.from(`0:,F${e.sender}\0${e.recipients.map((r) => `T${r}\0`).join('')}\0`, 'utf8');
}

/** The daemon's answer line. */
export function parseReply(line: string): { kind: 'ok'; id: string } | { kind: 'temp' | 'perm'; status: string; text: string } {
  const m = /^([KZD])(.*)$/s.exec(line.trimEnd());
  if (!m) return { kind: 'temp', status: '4.3.0', text: 'qmta answered nonsense' };
  if (m[1] === 'K') return { kind: 'ok', id: m[2]! };
  const st = /\(#([45]\.\d{1,3}\.\d{1,3})\)$/.exec(m[2]!);
  const text = m[2]!.replace(/ \(#[45]\.\d{1,3}\.\d{1,3}\)$/, '');
  return m[1] === 'Z' ? { kind: 'temp', status: st?.[1] ?? '4.3.0', text } : { kind: 'perm', status: st?.[1] ?? '5.3.0', text };
}
