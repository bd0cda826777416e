// IP address lists (relay clients, deny list): single addresses and CIDR networks,
// IPv4 and IPv6, on node's BlockList. An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, as a
// dual-stack socket reports it) is matched as the IPv4 address.
//
// Failures: a malformed entry throws at construction (a configuration error, caught
// when the settings are loaded, never at connection time).

import { BlockList, isIP } from 'node:net';

export interface NetworkList {
  has(address: string | undefined): boolean;
}

/** Builds a matcher from "a.b.c.d", "a.b.c.d/n", "::1", "2001:db8::/32" entries. */
export function networkList(entries: readonly string[]): NetworkList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [addr, bits] = entry.split('/');
    const family = isIP(addr ?? '');
    if (family === 0) throw new Error(`not an IP address or network: ${JSON.stringify(raw)}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(addr!, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`bad network prefix: ${JSON.stringify(raw)}`);
    list.addSubnet(addr!, prefix, type);
  }
  return { has: (address) => matches(list, address) };
}

function matches(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return list.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
