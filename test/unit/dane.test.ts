// DANE's parts without a resolver: which control/dnsservers entries are trusted (loopback
// only), which TLSA records are usable (RFC 7672 §3.1), certificate matching for DANE-EE and
// DANE-TA (selectors, matching types, chain, dates, names), and the raw DNS client's bounds
// against a scripted server on loopback: an answer to another query is ignored, a truncated
// answer is asked again over TCP, the AD bit is reported, a silent server fails in time.

import test from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import * as packet from 'dns-packet';
import { usable, type Tlsa } from '../../ts/remote/dane.js';
import { daneMismatch } from '../../ts/remote/dane-match.js';
import { createSecureDns, isLoopbackServer, parseServer } from '../../ts/remote/dns-secure.js';
import { defaultRemoteSettings } from '../../ts/remote/settings.js';
import { daneTrusted } from '../../ts/remote/tls-plan.js';
import { caSigned } from '../helpers/certs.js';
import { selfSigned } from '../e2e/remote-peers.js';

test('servers: parsed as control/dnsservers writes them; only loopback resolvers make DANE trusted', (t) => {
  t.deepEqual(parseServer('127.0.0.1'), { host: '127.0.0.1', port: 53 });
  t.deepEqual(parseServer('127.0.0.53:5353'), { host: '127.0.0.53', port: 5353 });
  t.deepEqual(parseServer('[::1]:53'), { host: '::1', port: 53 });
  t.deepEqual(parseServer('::1'), { host: '::1', port: 53 });
  t.is(parseServer('resolver.example:53'), undefined);
  t.true(isLoopbackServer('127.1.2.3:53'));
  t.false(isLoopbackServer('192.0.2.1'));
  const s = { ...defaultRemoteSettings, dane: true };
  t.true(daneTrusted({ ...s, dnsServers: ['127.0.0.1', '[::1]:53'] }));
  t.false(daneTrusted({ ...s, dnsServers: ['127.0.0.1', '192.0.2.53'] }), 'one remote resolver is enough to distrust the AD bit');
  t.false(daneTrusted({ ...s, dnsServers: [] }), "the system's resolvers (resolv.conf) are not known to be local");
  t.false(daneTrusted({ ...s, dane: false, dnsServers: ['127.0.0.1'] }));
});

const rec = (usage: number, selector: number, matchingType: number, data: Buffer): Tlsa => ({ usage, selector, matchingType, data });

test('usable TLSA records: DANE-TA and DANE-EE, selectors 0/1, matching 0/1/2 of the right length', (t) => {
  t.true(usable(rec(3, 1, 1, Buffer.alloc(32))));
  t.true(usable(rec(2, 0, 2, Buffer.alloc(64))));
  t.true(usable(rec(3, 0, 0, Buffer.alloc(300))));
  t.false(usable(rec(1, 1, 1, Buffer.alloc(32))), 'PKIX-EE is unusable for SMTP');
  t.false(usable(rec(0, 0, 1, Buffer.alloc(32))), 'PKIX-TA is unusable for SMTP');
  t.false(usable(rec(3, 2, 1, Buffer.alloc(32))));
  t.false(usable(rec(3, 1, 3, Buffer.alloc(32))));
  t.false(usable(rec(3, 1, 1, Buffer.alloc(31))), 'a SHA-256 digest has 32 bytes');
});

const der = (pem: Buffer) => new X509Certificate(pem).raw;
const spki = (pem: Buffer) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const hash = (alg: string, b: Buffer) => createHash(alg).update(b).digest();

test('DANE-EE: the leaf by full certificate or public key, raw or digested; names and dates are not checked', (t) => {
  const c = selfSigned(t, 'mx.one.test');
  const chain = [der(c.cert)];
  t.is(daneMismatch(chain, [rec(3, 0, 0, der(c.cert))], ['other.test']), undefined);
  t.is(daneMismatch(chain, [rec(3, 1, 2, hash('sha512', spki(c.cert)))], ['other.test'], Date.now() + 400 * 86_400_000), undefined);
  t.is(daneMismatch(chain, [rec(3, 1, 1, hash('sha256', der(c.cert)))], []), 'no certificate of the server matches its TLSA records', 'selector 1 hashes the key, not the certificate');
  t.is(daneMismatch([], [rec(3, 1, 1, Buffer.alloc(32))], []), 'the server sent no certificate');
  t.is(daneMismatch([Buffer.from('junk')], [rec(3, 1, 1, Buffer.alloc(32))], []), 'the server sent a certificate that cannot be parsed');
});

test('DANE-TA: the CA sent above the leaf, a leaf it signed, within dates, for the MX name', (t) => {
  const c = caSigned(t, 'mx.ta.test');
  const chain = [der(c.leaf), der(c.ca)];
  const ta = [rec(2, 0, 1, hash('sha256', der(c.ca)))];
  t.is(daneMismatch(chain, ta, ['mx.ta.test']), undefined);
  t.is(daneMismatch(chain, [rec(2, 1, 1, hash('sha256', spki(c.ca)))], ['mx.ta.test']), undefined);
  t.is(daneMismatch(chain, ta, ['mx.other.test']), 'DANE-TA: the certificate is not valid for mx.other.test');
  t.is(daneMismatch(chain, ta, ['mx.ta.test'], Date.now() + 3 * 86_400_000), 'DANE-TA: certificate 0 is outside its validity dates');
  const stranger = caSigned(t, 'mx.ta.test');
  t.is(daneMismatch([der(stranger.leaf), der(c.ca)], ta, ['mx.ta.test']), 'DANE-TA: certificate 0 is not signed by certificate 1');
  t.is(daneMismatch(chain, [rec(3, 0, 1, hash('sha256', der(c.ca)))], ['mx.ta.test']), 'no certificate of the server matches its TLSA records', 'DANE-EE names the leaf only');
  t.is(daneMismatch([der(c.leaf)], ta, ['mx.ta.test']), 'no certificate of the server matches its TLSA records', 'the CA must be sent');
});

/** A scripted DNS server on 127.0.0.1 (UDP and TCP on one port): `answer` makes the reply packets. */
async function scriptedDns(t: import('ava').ExecutionContext, udp: (q: packet.DecodedPacket) => Buffer[], tcp?: (q: packet.DecodedPacket) => Buffer) {
  const tcpServer = createServer((s) => {
    s.on('data', (b: Buffer) => {
      const q = packet.decode(b.subarray(2));
      const r = tcp?.(q);
      if (r) s.end(Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r]));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
  const port = (tcpServer.address() as { port: number }).port;
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(port, '127.0.0.1', resolve));
  let asked = 0;
  sock.on('message', (b, from) => {
    asked++;
    for (const r of udp(packet.decode(b))) sock.send(r, from.port, from.address);
  });
  t.teardown(() => { sock.close(); tcpServer.close(); });
  return { server: `127.0.0.1:${port}`, asked: () => asked };
}

const tlsaAnswer = (q: packet.DecodedPacket, o: { id?: number; flags?: number; n?: number }) => packet.encode({
  type: 'response', id: o.id ?? q.id!, flags: o.flags ?? 0, questions: q.questions,
  answers: Array.from({ length: o.n ?? 1 }, () => ({ type: 'TLSA' as const, name: q.questions![0]!.name, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 7) } })),
});

test('raw DNS: an answer to another query is ignored; the AD bit is reported; a truncated answer is asked again over TCP', async (t) => {
  const s = await scriptedDns(t,
    (q) => q.questions![0]!.name.startsWith('big')
      ? [tlsaAnswer(q, { flags: packet.TRUNCATED_RESPONSE, n: 0 })]
      : [tlsaAnswer(q, { id: (q.id! + 1) % 65536 }), tlsaAnswer(q, { flags: packet.AUTHENTIC_DATA })],
    (q) => tlsaAnswer(q, { flags: packet.AUTHENTIC_DATA, n: 40 }));
  const dns = createSecureDns([s.server], { timeoutMs: 2000, tries: 1 });
  const r = await dns('_25._tcp.mx.one.test', 'TLSA');
  t.like(r, { kind: 'answer', rcode: 'NOERROR', ad: true });
  t.is(r.kind === 'answer' ? r.records.length : -1, 1);
  const big = await dns('big.test', 'TLSA');
  t.like(big, { kind: 'answer', ad: true });
  t.is(big.kind === 'answer' ? big.records.length : -1, 40, 'the whole answer, over TCP');
});

test('raw DNS: a server that never answers fails after tries x timeout, never hangs', async (t) => {
  const s = await scriptedDns(t, () => []);
  const dns = createSecureDns([s.server], { timeoutMs: 200, tries: 2 });
  const started = Date.now();
  const r = await dns('mx.one.test', 'A');
  t.like(r, { kind: 'failed' });
  t.is(s.asked(), 2);
  t.true(Date.now() - started < 2000);
});
