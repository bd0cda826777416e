// Control files of the delivery engine (qmail-send's role): concurrency, queue lifetime,
// bounce addresses. See key.ts for the KeySpec contract.

import { intKey, lineKey } from '../key.js';

/** qmail's conf-spawn: hard cap on simultaneous deliveries per channel. */
export const SPAWN = 120;

export const sendKeys = {
  bouncefrom: lineKey('local part of the From: of bounces', 'MAILER-DAEMON', () => 'MAILER-DAEMON'),
  bouncehost: lineKey('host part of the From: of bounces', 'me', (ctx) => ctx.me),
  concurrencylocal: intKey('maximum simultaneous local deliveries (0 holds them; capped at 120)', 10, { cap: SPAWN }),
  concurrencyremote: intKey('maximum simultaneous remote deliveries (0 holds them; capped at 120)', 20, { cap: SPAWN }),
  doublebouncehost: lineKey('host part of the double-bounce recipient', 'me', (ctx) => ctx.me),
  doublebounceto: lineKey('local part of the double-bounce recipient', 'postmaster', () => 'postmaster'),
  queuelifetime: intKey('seconds a message may stay in the queue before its last attempt', 604800),
};
