// Control files of the SMTP service (qmail-smtpd's, plus the listeners and limits qmail
// left to tcpserver/tcprules). See key.ts for the KeySpec contract.

import { flagKey, intKey, lineKey, listKey, lowercase, type DefaultContext, type ItemParser } from '../key.js';
import { listenAddress, network, smtpRoute, type Network } from '../values.js';

/** locals plus each virtualdomains domain or .suffix (not exceptions, not the catch-all). */
function deliveredDomains(ctx: DefaultContext): readonly string[] {
  const virtual = ctx.virtualdomains.filter((v) => v.prepend !== '' && v.key !== '')
    .map((v) => v.key.slice(v.key.lastIndexOf('@') + 1));
  return [...new Set([...ctx.locals, ...virtual])];
}

const syncMode: ItemParser<string> = (text) =>
  (text === 'syncfs' || text === 'fsync' ? { value: text } : { reason: `"${text}" is neither syncfs nor fsync` });

const LOOPBACK: readonly Network[] = [
  { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
  { address: '::1', prefix: 128, family: 'ipv6' },
];

export const smtpdKeys = {
  badmailfrom: listKey('MAIL FROM addresses (user@dom) or domains (@dom) refused with 553', 'none',
    () => [], lowercase),
  databytes: intKey('maximum message size in bytes (0 = no limit)', 0),
  localiphost: lineKey('name that box@[ip-of-this-host] is rewritten to', 'me', (ctx) => ctx.me),
  // Departure: qmail accepts every recipient when rcpthosts is missing (an open relay);
  // qmta accepts what it delivers: locals and the virtualdomains domains.
  rcpthosts: listKey('domains (dom, or .dom for subdomains) accepted from anyone', 'locals + virtualdomains',
    deliveredDomains, lowercase),
  morercpthosts: listKey('more rcpthosts entries (read as a plain list; no cdb to compile)', 'none',
    () => [], lowercase),
  smtpgreeting: lineKey('text after 220 in the greeting; first word should be the host name', 'me', (ctx) => ctx.me),
  timeoutsmtpd: intKey('seconds to wait for each read or write of a client (<= 0 means 1)', 1200, { floor: 1 }),
  smtplisten: listKey('SMTP (MX) listeners, HOST:PORT per line', '127.0.0.1:2525',
    () => [{ host: '127.0.0.1', port: 2525 }], listenAddress),
  submissionlisten: listKey('submission listeners (AUTH required), HOST:PORT per line', '127.0.0.1:2587',
    () => [{ host: '127.0.0.1', port: 2587 }], listenAddress),
  smtpslisten: listKey('implicit-TLS SMTP listeners, HOST:PORT per line', 'none', () => [], listenAddress),
  relayclients: listKey('client IPs or CIDR networks allowed to relay (qmail: RELAYCLIENT)', '127.0.0.1, ::1',
    () => LOOPBACK, network),
  denyclients: listKey('client IPs or CIDR networks answered 554 at connect', 'none', () => [], network),
  maxrcpt: intKey('maximum recipients per message (452 4.5.3 past it)', 100),
  maxconnections: intKey('maximum simultaneous SMTP connections in total (421 4.7.0 past it)', 200),
  maxconnectionsperip: intKey('maximum simultaneous SMTP connections per client IP', 20),
  sessiontimeout: intKey('maximum seconds for a whole SMTP session', 3600),
  maxerrors: intKey('protocol errors after which the client is disconnected', 20),
  smtplinelimit: intKey('maximum text line length in DATA, in bytes including CR LF', 1000),
  rcptcheck: flagKey('1 = refuse unknown local recipients at RCPT (550 5.1.1); 0 = qmail\'s accept-all', true),
  directmaildir: flagKey('1 = a recipient whose delivery is only maildirs qmta may write is delivered before the 250 '
    + '(never queued); 0 = every message goes through the queue first, as qmail', true),
  directsync: lineKey('how a delivery at accept time is made durable: syncfs = one sync of the whole filesystem, '
    + 'shared by every message accepted meanwhile (it also writes whatever else is dirty there); '
    + 'fsync = each file and its new/ folder, as qmail-local', 'syncfs', () => 'syncfs', syncMode),
  authplaintext: flagKey('1 = offer AUTH without TLS (loopback tests); 0 = AUTH only after TLS', false),
  etrnroutes: listKey('passive (dial-up) domains a relay or AUTH client may start with ETRN, domain:[host][:port]; '
    + 'no host = the asking client\'s IP (RFC 1985), port 25 by default', 'none (ETRN not offered)', () => [], smtpRoute),
};
