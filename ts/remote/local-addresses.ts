// Which addresses are this host, for the "MX points back at me" rule (qmail's ipme).
//
// Interface: localAddressTest(configured?) -> (ip) => boolean.
// With a configured list (settings.localAddresses) only that list counts; else this
// machine's interface addresses, all of 127.0.0.0/8, ::1 and 0.0.0.0 / :: (connecting to
// "any" reaches this host). IPv4-mapped IPv6 addresses are compared as IPv4.
// The interface list is read once, when the test is built (ts/config rebuilds on HUP).

import { networkInterfaces } from 'node:os';

/** Strips '::ffff:' from IPv4-mapped IPv6 addresses and lowercases. */
function normalise(ip: string): string {
  const low = ip.toLowerCase();
  return low.startsWith('::ffff:') && low.includes('.') ? low.slice(7) : low;
}

function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address);
  }
  return out;
}

/** A predicate telling whether `ip` is this host. */
export function localAddressTest(configured?: readonly string[]): (ip: string) => boolean {
  if (configured) {
    const set = new Set(configured.map(normalise));
    return (ip) => set.has(normalise(ip));
  }
  const set = new Set([...interfaceAddresses(), '::1', '::', '0.0.0.0'].map(normalise));
  return (ip) => {
    const n = normalise(ip);
    return set.has(n) || n.startsWith('127.');
  };
}
