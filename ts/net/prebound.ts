// Listening sockets bound before the daemon drops root, handed to the listeners after.
// `qmta start` as root binds every address of its listen control files here (ports
// below 1024 need root), drops to the qmta account, and only then do the SMTP and POP3
// listeners call listen(2) on these descriptors (listeners.ts). Until listen(2) the
// kernel refuses connections, so no network byte is read while the process is root.
//
// Interface: prebind(addresses) -> Outcome<void>; takePrebound(address) -> fd |
// undefined (each descriptor is taken once; port 0 entries are interchangeable);
// closeUnclaimed() -> the addresses nobody took (closed).
// Failures: an address that cannot be bound -> temp 4.3.0 naming it (the daemon exits
// 111 before dropping: a broken configuration); those bound before it are closed.
// Constraint shared with ts/net/listeners.ts, which asks here before binding itself.

import { bindTcp, closeFd } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';
import type { ListenAddress } from './listeners.js';

const held = new Map<string, number[]>();

const keyOf = (a: ListenAddress): string => `${a.host.replace(/^\[(.*)\]$/, '$1')} ${a.port}`;

/** Binds each address (not listening); see the header. */
export function prebind(addresses: readonly ListenAddress[]): Outcome<void> {
  for (const a of addresses) {
    const fd = bindTcp(a.host.replace(/^\[(.*)\]$/, '$1'), a.port);
    if (fd.kind !== 'ok') {
      closeUnclaimed();
      return temp('4.3.0', `cannot listen on ${a.host}:${a.port} (${fd.text})`);
    }
    held.set(keyOf(a), [...(held.get(keyOf(a)) ?? []), fd.value]);
  }
  return ok(undefined);
}

/** The descriptor bound for `a`, once; undefined when none was bound for it. */
export function takePrebound(a: ListenAddress): number | undefined {
  const list = held.get(keyOf(a));
  const fd = list?.shift();
  if (list?.length === 0) held.delete(keyOf(a));
  return fd;
}

/** Closes what no listener took; returns their addresses. */
export function closeUnclaimed(): string[] {
  const left: string[] = [];
  for (const [key, fds] of held) {
    for (const fd of fds) {
      closeFd(fd);
      left.push(key.replace(' ', ':'));
    }
  }
  held.clear();
  return left;
}
