// The mailbox writers (crates/mailbox through ts/native.ts) behind the Mailbox contract
// of ./types.ts, plus qmail-local's two delivery header lines.
//
// Interface: `mailbox` (the Mailbox implementation), `deliveryHeaders(sender, recipient)`.
// Failures are Outcome values (see types.ts); a thrown error is a broken contract: a
// header value holding CR, LF or NUL (the queue refuses such addresses at the door).
// Guarantees: the body never enters JS; the async forms never block the event loop.

import { deliverMaildir, deliverMaildirSync, deliverMbox, deliverMboxSync } from '../native.js';
import { quoteAddress } from '../inject/quote.js';
import type { Mailbox } from './types.js';

export type { Mailbox, MaildirDelivery, MboxDelivery } from './types.js';

/** The Mailbox implementation backed by the native core. */
export const mailbox: Mailbox = { deliverMaildir, deliverMaildirSync, deliverMbox, deliverMboxSync };

const LINE_BREAKING = /[\r\n\0]/;

/**
 * qmail-local's `Return-Path: <sender>` (quoted as ts/inject/quote.ts says) and
 * `Delivered-To: recipient` lines, LF-ended,
 * ready to be passed as `headers`. `recipient` is the local address as qmail writes it
 * (local part with extension, @, domain).
 */
export function deliveryHeaders(sender: string, recipient: string): Buffer {
  for (const v of [sender, recipient]) {
    if (LINE_BREAKING.test(v)) throw new Error(`delivery header value with CR, LF or NUL: ${JSON.stringify(v)}`);
  }
  return Buffer.from(`Return-Path: <${quoteAddress(sender)}>\nDelivered-To: ${recipient}\n`, 'utf8');
}
