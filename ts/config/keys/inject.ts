// Control files of message injection (qmail-inject's address and Message-ID completion).
// See key.ts for the KeySpec contract.

import { lineKey, listKey, verbatim } from '../key.js';

// On a host whose name has no dot, me is no domain: qualifying "joe@box" as "joe@box.box"
// names nothing. "localdomain" is the conventional pseudo-domain of such hosts (/etc/hosts'
// "localhost.localdomain"); localhost and the locals are never qualified (ts/inject/complete.ts).
const defaultDomain = (me: string): string => (me.includes('.') ? me : 'localdomain');

export const injectKeys = {
  defaultdomain: lineKey('domain appended to host names without a dot (never to localhost or a locals name)',
    'me; localdomain if me has no dot', (ctx) => defaultDomain(ctx.me)),
  defaulthost: lineKey('host appended to addresses without a host', 'me', (ctx) => ctx.me),
  idhost: lineKey('right-hand side of generated Message-IDs', 'me', (ctx) => ctx.me),
  plusdomain: lineKey('replaces a trailing + in host names (host+ -> host.plusdomain)', 'me', (ctx) => ctx.me),
  qmqpservers: listKey('QMQP servers (qmail-qmqpc); read for compatibility, qmta has no QMQP client', 'none',
    () => [], verbatim),
};
