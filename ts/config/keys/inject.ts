// Control files of message injection (qmail-inject's address and Message-ID completion).
// See key.ts for the KeySpec contract.

import { lineKey, listKey, verbatim } from '../key.js';

export const injectKeys = {
  defaultdomain: lineKey('domain appended to host names without a dot', 'me', (ctx) => ctx.me),
  defaulthost: lineKey('host appended to addresses without a host', 'me', (ctx) => ctx.me),
  idhost: lineKey('right-hand side of generated Message-IDs', 'me', (ctx) => ctx.me),
  plusdomain: lineKey('replaces a trailing + in host names (host+ -> host.plusdomain)', 'me', (ctx) => ctx.me),
  qmqpservers: listKey('QMQP servers (qmail-qmqpc); read for compatibility, qmta has no QMQP client', 'none',
    () => [], verbatim),
};
