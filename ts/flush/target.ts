// The peer of `qmta flush`: HOST:PORT as the command line gives it.
//
// Interface: parseTarget(text) -> Outcome<Target>. Forms: name, name:port, a.b.c.d[:port],
// [v6addr][:port]; the port defaults to 25.
// Failures: empty host, a port that is not 1..65535, an unbracketed IPv6 address with a
// port, more than 253 characters -> perm 5.3.5 (usage: the exit code is 100).

import { isIP } from 'node:net';
import { ok, perm, type Outcome } from '../outcome.js';

export interface Target {
  /** A host name or an IP address (no brackets). */
  readonly host: string;
  readonly port: number;
}

const bad = (text: string, why: string) => perm('5.3.5', `bad target ${JSON.stringify(text.slice(0, 80))}: ${why}`);

export function parseTarget(text: string): Outcome<Target> {
  if (text.length > 253 + 8) return bad(text, 'too long');
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text) ?? /^([^:[\]\s]+)(?::(\d+))?$/.exec(text);
  if (!m) return isIP(text) === 6 ? ok({ host: text, port: 25 }) : bad(text, 'expected HOST:PORT');
  const port = m[2] === undefined ? 25 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(text, 'port out of range');
  if (text.startsWith('[') && isIP(m[1]!) !== 6) return bad(text, 'not an IPv6 address in brackets');
  return ok({ host: m[1]!, port });
}
