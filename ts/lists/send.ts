// Queueing for the list programs: a list post streamed to every subscriber with the VERP
// sender, and the short administrative messages (confirmations, notices, help).
//
// Interface: queueStreamed(io, header, section, envelope) -> Outcome<MessageId>;
// sendNotice(io, cfg, to, subject, text, replyTo?) -> Outcome<MessageId>.
// Failures: the queue's own (class kept); a read error -> temp 4.3.0.
// Guarantees: the body is streamed (never held whole); a failed write aborts the writer.

import { Readable } from 'node:stream';
import type { Outcome } from '../outcome.js';
import type { Envelope, MessageId } from '../queue/types.js';
import { dateField, messageIdField } from '../inject/newfields.js';
import { bodyChunks, type HeaderSection } from '../inject/split.js';
import { queueCopy, type HelperIo } from '../helpers/io.js';
import { listAddress, listHeaders } from './addresses.js';
import type { ListConfig } from './store.js';

/** Queues header + the rest of a message read by readHeaderSection. */
export function queueStreamed(io: HelperIo, header: string, section: HeaderSection, envelope: Envelope): Promise<Outcome<MessageId>> {
  return queueCopy(io, '', Readable.from(prefixed(Buffer.from(header, 'latin1'), section)), envelope);
}

async function* prefixed(header: Buffer, section: HeaderSection): AsyncGenerator<Buffer> {
  yield header;
  yield* bodyChunks(section);
}

let seq = 0;

/** Queues an administrative message from local-request@host, envelope sender local-owner@host. */
export function sendNotice(io: HelperIo, cfg: ListConfig, to: string, subject: string, text: string, replyTo?: string): Promise<Outcome<MessageId>> {
  const now = Date.now();
  const host = cfg.address.slice(cfg.address.lastIndexOf('@') + 1);
  const header = dateField(now) + messageIdField(now, `${process.pid}.${++seq}`, host) +
    `From: ${listAddress(cfg, 'request')}\nTo: ${to}\nSubject: ${subject}\n` +
    (replyTo ? `Reply-To: ${replyTo}\n` : '') + listHeaders(cfg);
  const body = Readable.from([Buffer.from(`${header}\n${text}`, 'utf8')]);
  return queueCopy(io, '', body, { sender: listAddress(cfg, 'owner'), recipients: [to] });
}
