// What an EHLO reply offers (RFC 5321 §4.1.1.1 and the extension RFCs): the client
// uses PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), STARTTLS (RFC 3207)
// and AUTH PLAIN/LOGIN (RFC 4954).
//
// Interface: parseEhlo(reply) -> Extensions; NO_EXTENSIONS for HELO.
// Keywords are case-insensitive; unknown ones are ignored; a SIZE without a number or
// with 0 means "no fixed limit" (RFC 1870 §4).

import type { Reply } from './reply.js';

export interface Extensions {
  readonly pipelining: boolean;
  /** The server's declared maximum message size; undefined = none declared. */
  readonly sizeLimit: number | undefined;
  readonly size: boolean;
  readonly eightBitMime: boolean;
  readonly startTls: boolean;
  /** AUTH mechanisms offered, uppercase. */
  readonly auth: readonly string[];
}

export const NO_EXTENSIONS: Extensions = {
  pipelining: false, sizeLimit: undefined, size: false, eightBitMime: false, startTls: false, auth: [],
};

/** The extensions listed in an EHLO reply (its first line is the greeting, skipped). */
export function parseEhlo(reply: Reply): Extensions {
  const ext = { ...NO_EXTENSIONS, auth: [] as string[] };
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.slice(4).trim().split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'PIPELINING': ext.pipelining = true; break;
      case '8BITMIME': ext.eightBitMime = true; break;
      case 'STARTTLS': ext.startTls = true; break;
      case 'AUTH': ext.auth.push(...params.map((p) => p.toUpperCase())); break;
      case 'SIZE': {
        ext.size = true;
        const n = Number(params[0]);
        ext.sizeLimit = Number.isSafeInteger(n) && n > 0 ? n : undefined;
        break;
      }
    }
  }
  return ext;
}
