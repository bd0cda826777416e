// DNS queries that report the AD bit (RFC 4035 §3.2.3, RFC 6840 §5.7), which node:dns does not
// expose: what DANE (dane.ts) needs to know whether an answer was DNSSEC-validated by the
// resolver. Packets are made and read by dns-packet; UDP first, TCP when the answer is
// truncated.
//
// Interface: parseServer('ip' | 'ip:port' | '[v6]:port') -> { host, port } | undefined;
// isLoopbackServer(server); createSecureDns(servers, { timeoutMs, tries }) -> SecureDns:
// (name, type) -> Promise<SecureAnswer>.
// SecureAnswer: { kind: 'answer', rcode, ad, records } (records of the asked type only, with
// the question's name or a CNAME's target) or { kind: 'failed', why } (no usable answer from
// any server: timeouts, refused connections, malformed or mismatched packets).
// Queries set RD and AD and carry EDNS0 (1232-byte UDP payload, no DO: the AD bit is all we
// need, RRSIGs would only make answers bigger).
// Bounds: each try waits at most timeoutMs; `tries` rounds over the servers; an answer is at
// most 65,535 bytes (the TCP length prefix; a UDP datagram cannot be larger); an answer
// whose id, QR bit or question does not match ours is ignored (UDP) or a failure (TCP).
// Failures: never thrown; a SERVFAIL is an answer (rcode 'SERVFAIL') for the caller to judge.
// Trust: the AD bit means something only when the path to the resolver cannot be tampered
// with: callers use it only for resolvers on loopback (isLoopbackServer; dane.ts).

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import * as packet from 'dns-packet';

export interface Server {
  readonly host: string;
  readonly port: number;
}

export type SecureAnswer =
  | { readonly kind: 'answer'; readonly rcode: string; readonly ad: boolean; readonly records: readonly packet.Answer[] }
  | { readonly kind: 'failed'; readonly why: string };

export type SecureDns = (name: string, type: packet.RecordType) => Promise<SecureAnswer>;

export const MAX_ANSWER = 65_535;

/** A control/dnsservers entry as host and port (53 when none is given). */
export function parseServer(s: string): Server | undefined {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return isIP(v6[1]!) === 6 ? { host: v6[1]!, port: Number(v6[2] ?? 53) } : undefined;
  if (isIP(s) !== 0) return { host: s, port: 53 };
  const colon = s.lastIndexOf(':');
  const host = s.slice(0, colon);
  return colon > 0 && isIP(host) === 4 && /^\d+$/.test(s.slice(colon + 1)) ? { host, port: Number(s.slice(colon + 1)) } : undefined;
}

/** True for a resolver on this host: 127.0.0.0/8 or ::1. */
export function isLoopbackServer(s: string): boolean {
  const server = parseServer(s);
  return server !== undefined && (server.host.startsWith('127.') || server.host === '::1');
}

/** Queries to `servers` (in order, `tries` rounds), each try bounded by timeoutMs. */
export function createSecureDns(servers: readonly string[], o: { readonly timeoutMs: number; readonly tries: number }): SecureDns {
  const parsed = servers.map(parseServer).filter((s): s is Server => s !== undefined);
  return async (name, type) => {
    let why = 'no DNS server configured';
    for (let round = 0; round < Math.max(1, o.tries); round++) {
      for (const server of parsed) {
        const r = await ask(server, name, type, o.timeoutMs);
        if (r.kind === 'answer') return r;
        why = `${server.host}#${server.port}: ${r.why}`;
      }
    }
    return { kind: 'failed', why };
  };
}

function query(name: string, type: packet.RecordType): { id: number; bytes: Buffer } {
  const id = randomInt(0, 0x10000);
  const bytes = packet.encode({
    type: 'query', id, flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type, name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
  return { id, bytes };
}

/** The answer in `bytes` if it is the response to our query, else why not. */
function read(bytes: Buffer, id: number, name: string, type: packet.RecordType): SecureAnswer {
  // dns-packet decodes the rcode as a name; its type definitions leave the field out.
  let p: packet.DecodedPacket & { rcode?: string };
  try {
    p = packet.decode(bytes);
  } catch {
    return { kind: 'failed', why: 'malformed answer' };
  }
  const q = p.questions?.[0];
  if (p.id !== id || p.type !== 'response' || !q || q.type !== type || q.name.toLowerCase() !== name.toLowerCase()) {
    return { kind: 'failed', why: 'answer to another question' };
  }
  // Records of the asked type whose owner is the name or a CNAME target on the way.
  const owners = new Set([name.toLowerCase()]);
  for (const a of p.answers ?? []) if (a.type === 'CNAME' && owners.has(a.name.toLowerCase())) owners.add(String(a.data).toLowerCase());
  const records = (p.answers ?? []).filter((a) => a.type === type && owners.has(a.name.toLowerCase()));
  return { kind: 'answer', rcode: p.rcode ?? 'NOERROR', ad: p.flag_ad === true, records };
}

async function ask(server: Server, name: string, type: packet.RecordType, timeoutMs: number): Promise<SecureAnswer> {
  const q = query(name, type);
  const udp = await overUdp(server, q.bytes, (b) => {
    const r = read(b, q.id, name, type);
    if (r.kind === 'failed') return undefined;
    return packet.decode(b).flag_tc ? { kind: 'truncated' as const } : r;
  }, timeoutMs);
  if (udp.kind !== 'truncated') return udp;
  const tcp = await overTcp(server, q.bytes, timeoutMs);
  return tcp.kind === 'failed' ? tcp : read(tcp.bytes, q.id, name, type);
}

type UdpResult = SecureAnswer | { kind: 'truncated' };

/** Sends over UDP and waits for the first datagram `accept` takes (others are ignored). */
function overUdp(server: Server, bytes: Buffer, accept: (b: Buffer) => UdpResult | undefined, timeoutMs: number): Promise<UdpResult> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const done = (r: UdpResult) => {
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'failed', why: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => done({ kind: 'failed', why: err.code ?? err.message }));
    socket.on('message', (b, from) => {
      if (from.port !== server.port || from.address !== server.host) return;
      const r = accept(b);
      if (r) done(r);
    });
    socket.send(bytes, server.port, server.host);
  });
}

/** One query over TCP (2-byte length prefix both ways, RFC 1035 §4.2.2). */
function overTcp(server: Server, bytes: Buffer, timeoutMs: number): Promise<{ kind: 'bytes'; bytes: Buffer } | { kind: 'failed'; why: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port });
    let got = Buffer.alloc(0);
    const done = (r: { kind: 'bytes'; bytes: Buffer } | { kind: 'failed'; why: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'failed', why: `no answer over TCP within ${timeoutMs} ms` }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => done({ kind: 'failed', why: err.code ?? err.message }));
    socket.on('close', () => done({ kind: 'failed', why: 'connection closed before the answer' }));
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])));
    socket.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length > 2 + MAX_ANSWER) return done({ kind: 'failed', why: 'answer too long' });
      const length = got.length >= 2 ? got.readUInt16BE(0) : -1;
      if (length >= 0 && got.length >= 2 + length) done({ kind: 'bytes', bytes: got.subarray(2, 2 + length) });
    });
  });
}
