// Control files of remote delivery (qmail-remote's, plus resolvers, TLS policy, smarthost
// credentials and a per-domain limit). See key.ts for the KeySpec contract.

import { intKey, lineKey, listKey, lowercase } from '../key.js';
import { dnsServer, remoteAuth, smtpRoute } from '../values.js';

export const remoteKeys = {
  helohost: lineKey('name given in EHLO/HELO', 'me', (ctx) => ctx.me),
  smtproutes: listKey('domain:relay[:port] static routes; ":relay" is the default route', 'none',
    () => [], smtpRoute),
  timeoutconnect: intKey('seconds per connection attempt', 60),
  timeoutremote: intKey('seconds per read or write of the SMTP session', 1200),
  dnsservers: listKey('resolvers for remote delivery, IP[:PORT] per line', 'none (system resolvers)',
    () => [], dnsServer),
  tlsrequired: listKey('domains that must be delivered over verified TLS (else temporary failure)', 'none',
    () => [], lowercase),
  remoteauth: listKey('relay:user:password smarthost credentials (AUTH PLAIN/LOGIN)', 'none',
    () => [], remoteAuth),
  concurrencyperdomain: intKey('maximum simultaneous remote deliveries to one domain', 5),
};
