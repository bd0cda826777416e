// DANE (RFC 7672) in outbound delivery against a real validating resolver on loopback
// (unbound over zones signed with ldns-signzone, test/helpers/unbound.ts) and smtp-server peers
// offering STARTTLS: a DANE-EE(3) record matching the server's key delivers over TLS; one that
// does not match defers and nothing is sent; DANE-TA(2) delivers when the server's chain leads
// to the named CA and its certificate names the MX host, defers when it names another host; an
// unsigned zone (insecure) and a signed zone without TLSA records go opportunistic as without
// DANE; a TLSA record that fails validation (bogus: SERVFAIL) defers and nothing is sent;
// control/dane off ignores the records; DANE takes precedence over an MTA-STS policy that would
// refuse the MX (RFC 8461 §2), which still applies to a domain in the insecure zone. TLS-RPT
// reports the tlsa policies.

import test, { type ExecutionContext } from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { caSigned, multiNameCert } from '../helpers/certs.js';
import { tempDir } from '../helpers/home.js';
import { validatingResolver } from '../helpers/unbound.js';
import { request, selfSigned, smtpPeer, testSettings, type Received } from './remote-peers.js';
import { policy, policyServer } from './sts-server.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const spki = (pem: Buffer) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const der = (pem: Buffer) => new X509Certificate(pem).raw;

/** Peers on 127.0.0.2 (self-signed, mx.dane.test) and 127.0.0.4 (CA-signed, mx.ta.test) on one port. */
async function peers(t: ExecutionContext) {
  const ee = selfSigned(t, 'mx.dane.test');
  const ta = caSigned(t, 'mx.ta.test');
  for (let attempt = 0; ; attempt++) {
    const a = await smtpPeer(t, { options: { key: ee.key, cert: ee.cert } }, '127.0.0.2');
    try {
      const b = await smtpPeer(t, { options: { key: ta.key, cert: ta.chain } }, '127.0.0.4', a.port);
      return { port: a.port, ee, ta, a: a.received, b: b.received };
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
}

/** MX NAME -> mx.NAME at `ip`, with TLSA `tlsa` (if any) for the port (names relative to the zone). */
const mxHost = (name: string, ip: string, port: number, tlsa?: string) => [
  `${name} IN MX 10 mx.${name}`, `mx.${name} IN A ${ip}`, ...(tlsa ? [`_${port}._tcp.mx.${name} IN TLSA ${tlsa}`] : []),
];

/** _mta-sts TXT and policy host records of NAME (names relative to the zone). */
const stsHost = (name: string) => [`_mta-sts.${name} IN TXT "v=STSv1; id=1"`, `mta-sts.${name} IN A 127.0.0.1`];

async function setUp(t: ExecutionContext, dane = true) {
  const p = await peers(t);
  // Both policies would refuse their MX (it is not listed): only the one in the insecure zone may apply.
  const web = multiNameCert(t, ['mta-sts.both.test', 'mta-sts.sts.example']);
  const httpsPort = await policyServer(t, web, new Map([['both.test', policy('enforce', 'other.both.test')], ['sts.example', policy('enforce', 'other.sts.example')]]));
  const eeRecord = `3 1 1 ${sha256(spki(p.ee.cert))}`;
  const bogusMark = 'ab'.repeat(32);
  const resolver = await validatingResolver(t, [
    {
      origin: 'test', signed: true,
      records: [
        ...mxHost('dane', '127.0.0.2', p.port, eeRecord),
        ...mxHost('wrong', '127.0.0.2', p.port, `3 1 1 ${'00'.repeat(32)}`),
        ...mxHost('ta', '127.0.0.4', p.port, `2 0 1 ${sha256(der(p.ta.ca))}`),
        // The server's certificate names mx.ta.test, not mx.tabad.test.
        ...mxHost('tabad', '127.0.0.4', p.port, `2 0 1 ${sha256(der(p.ta.ca))}`),
        ...mxHost('notlsa', '127.0.0.2', p.port),
        ...mxHost('bogus', '127.0.0.2', p.port, `3 1 1 ${bogusMark}`),
        ...mxHost('both', '127.0.0.2', p.port, eeRecord), ...stsHost('both'),
      ],
      // Changing the record after signing leaves its RRSIG wrong: unbound answers SERVFAIL.
      tamper: (z) => z.replace(new RegExp(bogusMark, 'i'), eeRecord.slice(6)),
    },
    { origin: 'example', signed: false, records: [...mxHost('plain', '127.0.0.2', p.port, `3 1 1 ${'00'.repeat(32)}`), ...mxHost('sts', '127.0.0.2', p.port, eeRecord), ...stsHost('sts')] },
  ]);
  const dir = tempDir(t);
  const settings = testSettings({ dnsServers: [resolver], port: p.port, dane, tlsReportDir: join(dir, 'tlsrpt'), mtaSts: true, mtaStsPort: httpsPort, tlsCa: web.cert });
  const remote = createRemoteDelivery(settings);
  t.teardown(() => remote.close());
  const send = async (to: string) => (await remote.deliver(request(t, `Subject: to ${to}\n\nx\n`, [to])))[0]!.outcome;
  return { ...p, dir, remote, send };
}

const to = (received: readonly Received[], rcpt: string) => received.filter((r) => r.to.includes(rcpt));

function report(dir: string, domain: string): { policies: Array<{ policy: Record<string, unknown>; summary: Record<string, number>; 'failure-details': Array<Record<string, unknown>> }> } {
  const date = new Date().toISOString().slice(0, 10);
  return JSON.parse(readFileSync(join(dir, 'tlsrpt', date, `${domain}.json`), 'utf8'));
}

test('DANE-EE: a matching record delivers over TLS; a record that does not match defers and nothing is sent', async (t) => {
  const s = await setUp(t);
  t.is((await s.send('u@dane.test')).kind, 'ok');
  const got = to(s.a, 'u@dane.test');
  t.is(got.length, 1);
  t.true(got[0]!.secure, 'over TLS');
  const wrong = await s.send('u@wrong.test');
  t.like(wrong, { kind: 'temp', status: '4.7.5' });
  t.regex((wrong as { text: string }).text, /DANE: no certificate of the server matches its TLSA records/);
  t.is(to(s.a, 'u@wrong.test').length, 0, 'nothing was sent to the server that did not match');
  await s.remote.close();
  const ok = report(s.dir, 'dane.test').policies[0]!;
  t.like(ok.policy, { 'policy-type': 'tlsa', 'mx-host': ['mx.dane.test'] });
  t.deepEqual(ok.policy['policy-string'], [`3 1 1 ${sha256(spki(s.ee.cert))}`]);
  t.deepEqual(ok.summary, { 'total-successful-session-count': 1, 'total-failure-session-count': 0 });
  t.like(report(s.dir, 'wrong.test').policies[0]!['failure-details'][0], { 'result-type': 'validation-failure', 'receiving-ip': '127.0.0.2' });
});

test('DANE-TA: a chain to the named CA whose certificate names the MX host delivers; another host name defers', async (t) => {
  const s = await setUp(t);
  t.is((await s.send('u@ta.test')).kind, 'ok');
  t.is(to(s.b, 'u@ta.test').length, 1);
  const bad = await s.send('u@tabad.test');
  t.like(bad, { kind: 'temp', status: '4.7.5' });
  t.regex((bad as { text: string }).text, /DANE-TA: the certificate is not valid for mx\.tabad\.test/);
  t.is(to(s.b, 'u@tabad.test').length, 0);
});

test('an unsigned zone and a signed zone without TLSA go opportunistic; a bogus TLSA record defers and nothing is sent', async (t) => {
  const s = await setUp(t);
  t.is((await s.send('u@plain.example')).kind, 'ok', 'insecure: the (wrong) TLSA record is ignored');
  t.is((await s.send('u@notlsa.test')).kind, 'ok', 'secure, no TLSA: opportunistic TLS with a self-signed certificate');
  t.true(to(s.a, 'u@notlsa.test')[0]!.secure);
  const bogus = await s.send('u@bogus.test');
  t.like(bogus, { kind: 'temp', status: '4.4.3' });
  t.regex((bogus as { text: string }).text, /TLSA _\d+\._tcp\.mx\.bogus\.test: SERVFAIL/);
  t.is(to(s.a, 'u@bogus.test').length, 0);
  await s.remote.close();
  t.like(report(s.dir, 'bogus.test').policies[0]!['failure-details'][0], { 'result-type': 'dnssec-invalid', 'receiving-mx-hostname': 'mx.bogus.test' });
});

test('control/dane off: TLSA records are ignored (a mismatching record still gets the mail)', async (t) => {
  const s = await setUp(t, false);
  t.is((await s.send('u@wrong.test')).kind, 'ok');
  t.is(to(s.a, 'u@wrong.test').length, 1);
});

test('DANE takes precedence over MTA-STS: a matching TLSA delivers though the enforce policy lists another MX; in the insecure zone the policy applies', async (t) => {
  const s = await setUp(t);
  t.is((await s.send('u@both.test')).kind, 'ok');
  t.is(to(s.a, 'u@both.test').length, 1);
  t.like(await s.send('u@sts.example'), { kind: 'temp', status: '4.7.5' }, 'no DANE (insecure): the MTA-STS policy refuses the unlisted MX');
  t.is(to(s.a, 'u@sts.example').length, 0);
  await s.remote.close();
  t.deepEqual(report(s.dir, 'both.test').policies.map((x) => x.policy['policy-type']), ['tlsa'], 'the STS policy was not consulted');
  t.like(report(s.dir, 'sts.example').policies[0], { policy: { 'policy-type': 'sts' } });
});
