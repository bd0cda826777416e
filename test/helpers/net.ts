// Loopback ports for tests that must name a port before the server starts (a child
// process's control files, a peer's route), or a port nothing listens on. They are drawn
// from below the kernel's ephemeral range: a port there is never taken meanwhile as the
// source port of some other test's outgoing connection, or by a listener on port 0, which
// made a freed ephemeral port busy again by the time its server bound it.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

const lowest = 10000;

/** The first port of the kernel's ephemeral range (connect and listen(0) take ports from there). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > lowest + 1000 ? first : 32768;
  } catch {
    return 32768;
  }
}

const end = ephemeralStart();

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Holds a random port below the ephemeral range, or undefined when that one is busy. */
function hold(): Promise<Server | undefined> {
  const port = lowest + Math.floor(Math.random() * (end - lowest));
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(s));
  });
}

/** `n` distinct TCP ports on 127.0.0.1, all held until every one is picked. */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  for (let tries = 0; held.length < n; tries++) {
    if (tries > 1000) throw new Error(`no free port below ${end} after 1000 tries`);
    const s = await hold();
    if (s) held.push(s);
  }
  const ports = held.map((s) => (s.address() as { port: number }).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
