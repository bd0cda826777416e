// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) in outbound delivery, against a local HTTPS
// policy server (node:https with a test CA), dnsmasq for the _mta-sts TXT records, MX and
// addresses, and smtp-server peers offering STARTTLS: enforce with a listed MX and a valid
// certificate delivers over verified TLS; enforce with an unlisted MX, or with a certificate
// that does not verify, defers; testing delivers and reports; a policy file that is too large
// is a fetch error (no policy), and so are a policy host that does not answer within the time
// limit and a 404 (RFC 8461 §3.3: delivery goes on as without MTA-STS), while a valid cached
// policy survives a failed fetch (§5.1); a cached policy applies until the TXT id changes,
// across a restart (the cache file).
// Each outcome shows in the day's TLS-RPT JSON file.

import test, { type ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { multiNameCert } from '../helpers/certs.js';
import { tempDir } from '../helpers/home.js';
import { txtOption } from '../helpers/mailauth-peers.js';
import { dnsmasq, request, smtpPeer, testSettings } from './remote-peers.js';
import { policy, policyServer } from './sts-server.js';

const DOMAINS = ['good.test', 'unlisted.test', 'badcert.test', 'testing.test', 'big.test', 'gone.test', 'slow.test', 'missing.test'];
/** Domains whose MX (127.0.0.3) shows a certificate that does not verify: mail reaches it only without an enforced policy. */
const BAD_CERT = new Set(['badcert.test', 'slow.test', 'missing.test']);


async function setUp(t: ExecutionContext) {
  const web = multiNameCert(t, DOMAINS.map((d) => `mta-sts.${d}`));
  const mx = multiNameCert(t, DOMAINS.map((d) => `mx.${d}`));
  const stranger = multiNameCert(t, ['somewhere.else']);
  const files = new Map<string, string>([
    ['good.test', policy('enforce', 'mx.good.test')], ['unlisted.test', policy('enforce', 'other.unlisted.test')],
    ['badcert.test', policy('enforce', 'mx.badcert.test')], ['testing.test', policy('testing', 'other.testing.test')],
    ['big.test', policy('enforce', 'other.big.test') + `# ${'x'.repeat(70_000)}\n`], ['gone.test', policy('enforce', 'mx.gone.test')],
    ['slow.test', policy('enforce', 'mx.slow.test')],
  ]);
  const held = { count: 0 };
  const httpsPort = await policyServer(t, web, files, held);
  const good = await smtpPeer(t, { options: { key: mx.key, cert: mx.cert } }, '127.0.0.2');
  const bad = await peerOnPort(t, { key: stranger.key, cert: stranger.cert }, '127.0.0.3', good.port);
  const records = DOMAINS.flatMap((d) => [
    txtOption({ name: `_mta-sts.${d}`, value: 'v=STSv1; id=20261207' }),
    `--host-record=mta-sts.${d},127.0.0.1`,
    `--mx-host=${d},mx.${d},10`,
    `--host-record=mx.${d},${BAD_CERT.has(d) ? '127.0.0.3' : '127.0.0.2'}`,
  ]);
  const dns = await dnsmasq(t, records);
  const dir = tempDir(t);
  const settings = testSettings({
    dnsServers: [dns], port: good.port, mtaSts: true, mtaStsPort: httpsPort, tlsCa: Buffer.concat([web.cert, mx.cert]),
    stateDir: dir, tlsReportDir: join(dir, 'tlsrpt'), mtaStsTimeout: 1,
  });
  return { settings, dir, files, held, good: good.received, bad: bad.received };
}

async function peerOnPort(t: ExecutionContext, tls: { key: Buffer; cert: Buffer }, host: string, port: number) {
  return smtpPeer(t, { options: tls }, host, port);
}

function report(dir: string, domain: string): { policies: Array<{ policy: Record<string, unknown>; summary: Record<string, number>; 'failure-details': Array<Record<string, unknown>> }> } {
  const date = new Date().toISOString().slice(0, 10);
  return JSON.parse(readFileSync(join(dir, 'tlsrpt', date, `${domain}.json`), 'utf8'));
}

test('enforce: a listed MX with a valid certificate gets the mail over verified TLS; unlisted MX and bad certificates defer', async (t) => {
  const s = await setUp(t);
  const remote = createRemoteDelivery(s.settings);
  t.teardown(() => remote.close());
  const ok = await remote.deliver(request(t, 'Subject: sts\n\nx\n', ['u@good.test']));
  t.is(ok[0]!.outcome.kind, 'ok');
  t.is(s.good.length, 1);
  t.true(s.good[0]!.secure, 'over TLS');
  const unlisted = await remote.deliver(request(t, 'x\n', ['u@unlisted.test']));
  t.like(unlisted[0]!.outcome, { kind: 'temp', status: '4.7.5' });
  const badcert = await remote.deliver(request(t, 'x\n', ['u@badcert.test']));
  t.is(badcert[0]!.outcome.kind, 'temp');
  t.is(s.bad.length, 0, 'nothing was sent to the host whose certificate did not verify');
  await remote.close();
  const g = report(s.dir, 'good.test').policies[0]!;
  t.is(g.policy['policy-type'], 'sts');
  t.deepEqual(g.policy['mx-host'], ['mx.good.test']);
  t.deepEqual(g.summary, { 'total-successful-session-count': 1, 'total-failure-session-count': 0 });
  const u = report(s.dir, 'unlisted.test').policies[0]!;
  t.like(u['failure-details'][0], { 'result-type': 'validation-failure', 'receiving-mx-hostname': 'mx.unlisted.test' });
  const b = report(s.dir, 'badcert.test').policies[0]!;
  t.like(b['failure-details'][0], { 'result-type': 'certificate-not-trusted', 'receiving-ip': '127.0.0.3' });
});

test('testing: an unlisted MX still gets the mail, and the mismatch is reported; an oversized policy is a fetch error', async (t) => {
  const s = await setUp(t);
  const remote = createRemoteDelivery(s.settings);
  t.teardown(() => remote.close());
  const r = await remote.deliver(request(t, 'x\n', ['u@testing.test']));
  t.is(r[0]!.outcome.kind, 'ok');
  const big = await remote.deliver(request(t, 'x\n', ['u@big.test']));
  t.is(big[0]!.outcome.kind, 'ok', 'no usable policy: delivered as without MTA-STS');
  await remote.close();
  t.like(report(s.dir, 'testing.test').policies[0]!['failure-details'][0], { 'result-type': 'validation-failure' });
  t.like(report(s.dir, 'big.test').policies[0]!['failure-details'][0], { 'result-type': 'sts-policy-fetch-error' });
});

test('cache: a policy applies until its TXT id changes (a changed file is not fetched again), across a restart', async (t) => {
  const s = await setUp(t);
  const first = createRemoteDelivery(s.settings);
  t.is((await first.deliver(request(t, 'x\n', ['u@gone.test'])))[0]!.outcome.kind, 'ok');
  await first.close();
  // The policy now says enforce with another MX, but its id did not change: the cached one holds.
  s.files.set('gone.test', policy('enforce', 'elsewhere.gone.test'));
  const second = createRemoteDelivery(s.settings);
  t.teardown(() => second.close());
  t.is((await second.deliver(request(t, 'x\n', ['u@gone.test'])))[0]!.outcome.kind, 'ok', 'cached (from the saved cache) policy used');
  const cache = JSON.parse(readFileSync(join(s.dir, 'mta-sts.json'), 'utf8')) as [string, { id: string; mx: string[] }][];
  t.deepEqual(cache.map(([d, p]) => [d, p.id, p.mx]), [['gone.test', '20261207', ['mx.gone.test']]]);
});

test('a policy host that never answers within the time limit, or answers 404, gives no policy: delivered as without MTA-STS', async (t) => {
  const s = await setUp(t);
  const remote = createRemoteDelivery(s.settings);
  t.teardown(() => remote.close());
  const started = Date.now();
  const slow = await remote.deliver(request(t, 'x\n', ['u@slow.test']));
  const took = Date.now() - started;
  t.is(slow[0]!.outcome.kind, 'ok', 'no policy: the MX whose certificate does not verify still gets the mail (opportunistic TLS)');
  t.is(s.held.count, 1, 'the policy request reached the server, which never answered');
  t.true(took >= 1000 && took < 10_000, `the fetch gave up at its 1 s limit (took ${took} ms)`);
  const missing = await remote.deliver(request(t, 'x\n', ['u@missing.test']));
  t.is(missing[0]!.outcome.kind, 'ok');
  t.is(s.bad.length, 2);
  // Asked again at once, neither domain is fetched again (FAILURE_RETRY_MS) and still gets its mail.
  t.is((await remote.deliver(request(t, 'x\n', ['u@slow.test'])))[0]!.outcome.kind, 'ok');
  t.is(s.held.count, 1);
  await remote.close();
  for (const d of ['slow.test', 'missing.test']) {
    const p = report(s.dir, d).policies[0]!;
    t.is(p.policy['policy-type'], 'no-policy-found', d);
    t.like(p['failure-details'][0], { 'result-type': 'sts-policy-fetch-error' }, d);
  }
});

test('a valid cached policy survives a failed fetch: a new TXT id whose policy file is gone (404) keeps enforce', async (t) => {
  const s = await setUp(t);
  const first = createRemoteDelivery(s.settings);
  t.is((await first.deliver(request(t, 'x\n', ['u@good.test'])))[0]!.outcome.kind, 'ok');
  await first.close();
  // The cache file says good.test enforces mx.good.test; now its policy file is gone and the
  // cache claims an older id, so the TXT id differs and a fetch is tried (and fails: 404).
  const cachePath = join(s.dir, 'mta-sts.json');
  const cache = JSON.parse(readFileSync(cachePath, 'utf8')) as [string, { id: string; mx: string[] }][];
  cache[0]![1] = { ...cache[0]![1], id: 'older', mx: ['mx.elsewhere.test'] };
  writeFileSync(cachePath, JSON.stringify(cache));
  s.files.delete('good.test');
  const second = createRemoteDelivery(s.settings);
  t.teardown(() => second.close());
  t.like((await second.deliver(request(t, 'x\n', ['u@good.test'])))[0]!.outcome, { kind: 'temp', status: '4.7.5' },
    'the cached enforce policy (listing another MX) still applies');
  t.is(s.good.length, 1);
});
