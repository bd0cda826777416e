// Matching a client IP against a list of networks (control/relayclients, denyclients):
// qmail used tcprules' RELAYCLIENT for this; qmta reads IP/CIDR lines.
//
// Interface: networkMatcher(nets) -> (ip) => boolean.
// Guarantee: an IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) matches the
// IPv4 entries, so listening on :: does not silently turn a relay client into a stranger.
// A string that is not an IP address matches nothing.

import { BlockList, isIP } from 'node:net';
import type { Network } from './values.js';

/** A predicate telling whether an IP address is inside one of `nets`. */
export function networkMatcher(nets: readonly Network[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const n of nets) list.addSubnet(n.address, n.prefix, n.family);
  return (ip) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const addr = mapped?.[1] ?? ip;
    const v = isIP(addr);
    if (v === 0) return false;
    return list.check(addr, v === 4 ? 'ipv4' : 'ipv6');
  };
}
