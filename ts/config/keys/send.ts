// Control files of the delivery engine (qmail-send's role): concurrency, queue lifetime,
// bounce addresses and size. See key.ts for the KeySpec contract.

import { intKey, lineKey, optionalLineKey, type ItemParser } from '../key.js';

/** control/newmailhook: an http(s) URL, or a program line for /bin/sh -c (ts/notify). */
const hookLine: ItemParser<string> = (text) => {
  if (text === '') return { reason: 'empty value' };
  if (!/^https?:\/\//i.test(text)) return { value: text };
  return URL.canParse(text) ? { value: text } : { reason: 'not a valid URL' };
};

/** qmail's conf-spawn: hard cap on simultaneous deliveries per channel. */
export const SPAWN = 120;

export const sendKeys = {
  bouncefrom: lineKey('local part of the From: of bounces', 'MAILER-DAEMON', () => 'MAILER-DAEMON'),
  bouncehost: lineKey('host part of the From: of bounces', 'me', (ctx) => ctx.me),
  bouncemaxbytes: intKey('bytes of the original\'s body a bounce copies after its header (0: the header only)', 65536),
  concurrencylocal: intKey('maximum simultaneous local deliveries (0 holds them; capped at 120)', 10, { cap: SPAWN }),
  concurrencyremote: intKey('maximum simultaneous remote deliveries (0 holds them; capped at 120)', 20, { cap: SPAWN }),
  doublebouncehost: lineKey('host part of the double-bounce recipient', 'me', (ctx) => ctx.me),
  doublebounceto: lineKey('local part of the double-bounce recipient', 'postmaster', () => 'postmaster'),
  newmailhook: optionalLineKey('program (run with the delivery\'s environment) or http(s) URL (POSTed JSON) told of each new message in a maildir or mbox', hookLine),
  queuelifetime: intKey('seconds a message may stay in the queue before its last attempt', 604800),
};
