// ARC sealing (RFC 8617) of mail qmta sends on, judged by an independent verifier (dkimpy's
// arc_verify, python3-dkim from Debian) reading the keys from a real DNS server (dnsmasq): a
// message that arrives with a chain (i=1, sealed by dkimpy) leaves through a dot-qmail &
// forward, the forward helper and a qmta list with one more set (i=2, cv=pass, d=our domain),
// and the chain verifies; a chain whose seal was broken on the way gets i=2 cv=fail (and a
// chain ending in cv=fail is not sealed again); a message without a chain gets i=1 cv=none; control/arcseal naming a
// domain seals as that domain; with control/arcseal off nothing is added; with no RSA key for
// the sealing domain the forward waits (temporary, 4.3.5) instead of leaving unsealed.

import test, { type ExecutionContext } from 'ava';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMta, type DeliveryEvent } from '../../ts/index.js';
import { addSubscribers } from '../../ts/lists/create.js';
import { listState } from '../../ts/lists/store.js';
import { tempDir } from '../helpers/home.js';
import { dkimpyArcVerify, dkimpySealed, txtOption, type Txt } from '../helpers/mailauth-peers.js';
import { recordingRemote } from '../helpers/remote.js';
import { until } from '../helpers/wait.js';
import { runNode } from './inject-process.js';
import { dnsmasq } from './remote-peers.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;
const ME = 'relay.test';

/** An RSA-2048 key in `dir` and its DKIM TXT record. */
function rsaKey(dir: string, domain: string, selector: string): { path: string; txt: Txt } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = join(dir, `${domain}.${selector}.pem`);
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const p = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { path, txt: { name: `${selector}._domainkey.${domain}`, value: `v=DKIM1; k=rsa; p=${p}` } };
}

interface Site {
  readonly home: string;
  readonly dns: string;
  readonly origin: { path: string };
  readonly sent: ReturnType<typeof recordingRemote>['sent'];
  readonly deferred: DeliveryEvent[];
  readonly inject: (to: string, message: Buffer) => Promise<unknown>;
}

/** A qmta home (me relay.test) with a dot-qmail forward (joe), a forward helper (ann) and a list (team). */
async function site(t: ExecutionContext, arcseal: string, keys: readonly string[] = [ME]): Promise<Site> {
  const home = tempDir(t);
  for (const d of ['control', 'alias', 'keys']) mkdirSync(join(home, d), { recursive: true });
  const ours = keys.map((d) => ({ d, ...rsaKey(join(home, 'keys'), d, 'arc1') }));
  const origin = rsaKey(tempDir(t), 'origin.test', 'o1');
  const dns = await dnsmasq(t, [origin.txt, ...ours.map((k) => k.txt)].map(txtOption));
  const control = (name: string, text: string) => writeFileSync(join(home, 'control', name), text);
  control('me', `${ME}\n`);
  control('locals', `${ME}\n`);
  control('dnsservers', `${dns}\n`);
  control('dkimkeys', ours.map((k) => `${k.d}:arc1:${k.path}\n`).join(''));
  control('arcseal', `${arcseal}\n`);
  writeFileSync(join(home, 'alias', '.qmail-joe'), '&joe@elsewhere.test\n');
  writeFileSync(join(home, 'alias', '.qmail-ann'), `|${process.execPath} ${MAIN} --home ${home} forward ann@elsewhere.test\n`);
  const made = await runNode(MAIN, ['--home', home, 'list', 'create', 'team'], '', {});
  t.is(made.code, 0, made.stderr);
  t.is((await addSubscribers(listState(join(home, 'alias'), 'team'), ['sub@elsewhere.test'])).kind, 'ok');
  const { remote, sent } = recordingRemote();
  const mta = await createMta({ home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  const deferred: DeliveryEvent[] = [];
  mta.on('deferred', (e) => deferred.push(e));
  await mta.start();
  const inject = (to: string, message: Buffer) => mta.inject({ from: 'a@origin.test', to: [`${to}@${ME}`], message });
  return { home, dns, origin, sent, deferred, inject };
}

const MESSAGE = 'From: A <a@origin.test>\nTo: joe@relay.test\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nSubject: arc\n\nhello\n';

/** The copy sent to `rcpt`. */
const copyTo = (s: Site, rcpt: string) => s.sent.find((m) => m.recipients.includes(rcpt));

test('a chain sealed by dkimpy leaves through a dot-qmail forward, the forward helper and a list with i=2 cv=pass, verified by dkimpy', async (t) => {
  const s = await site(t, '1');
  const sealed = await dkimpySealed(MESSAGE, 'origin.test', 'o1', s.origin.path);
  t.deepEqual((await dkimpyArcVerify(s.dns, sealed)).sets.map((x) => x.i), [1], 'the incoming chain: one set');
  for (const to of ['joe', 'ann', 'team']) await s.inject(to, sealed);
  await until('three copies out', () => s.sent.length === 3);
  for (const rcpt of ['joe@elsewhere.test', 'ann@elsewhere.test', 'sub@elsewhere.test']) {
    const copy = copyTo(s, rcpt)!.body;
    t.regex(copy, /^ARC-Seal: i=2; a=rsa-sha256; [^]*?cv=pass/m, rcpt);
    t.regex(copy, /ARC-Authentication-Results: i=2; relay\.test;(.|\n)*arc=pass/, rcpt);
    const v = await dkimpyArcVerify(s.dns, copy);
    t.is(v.cv, 'pass', `${rcpt}: ${v.reason}`);
    t.deepEqual(v.sets.map((x) => [x.i, x.cv, x.as, x.d]), [[2, 'pass', true, ME], [1, 'none', true, 'origin.test']], rcpt);
    t.true(v.sets[0]!.ams, `${rcpt}: our ARC-Message-Signature verifies`);
  }
});

test('a broken chain is sealed cv=fail, which dkimpy reads as the end of the chain; a chain ending in cv=fail is sent on without a new set', async (t) => {
  const s = await site(t, '1');
  const sealed = (await dkimpySealed(MESSAGE, 'origin.test', 'o1', s.origin.path)).toString('latin1');
  // One character of the ARC-Seal's signature changed in transit.
  const broken = Buffer.from(sealed.replace(/(ARC-Seal: [^]*?b=)([A-Za-z0-9+/])/, (_m, a: string, c: string) => `${a}${c === 'A' ? 'B' : 'A'}`), 'latin1');
  await s.inject('joe', broken);
  await until('the forward', () => s.sent.length === 1);
  const copy = s.sent[0]!.body;
  t.regex(copy, /^ARC-Seal: i=2; a=rsa-sha256; [^]*?cv=fail/m);
  t.regex(copy, /ARC-Authentication-Results: i=2; relay\.test;[^]*arc=fail/);
  // dkimpy reads our set as the end of the chain: cv=fail at i=2, our AMS valid, no pass.
  const v = await dkimpyArcVerify(s.dns, copy);
  t.not(v.cv, 'pass');
  t.regex(v.reason, /ARC-Seal\[2\] reported failure/);
  t.like(v.sets[0], { i: 2, cv: 'fail', ams: true, d: ME });
  await s.inject('joe', Buffer.from(copy, 'latin1'));
  await until('the second forward', () => s.sent.length === 2);
  t.is(s.sent[1]!.body.match(/^ARC-Seal:/gm)?.length, 2, 'no i=3 after cv=fail (RFC 8617 §5.1.2)');
});

test('a message without a chain gets i=1 cv=none; control/arcseal naming a domain seals as that domain', async (t) => {
  const s = await site(t, 'lists.test', [ME, 'lists.test']);
  await s.inject('joe', Buffer.from(MESSAGE));
  await until('the forward', () => s.sent.length === 1);
  const copy = s.sent[0]!.body;
  t.regex(copy, /^ARC-Seal: i=1; a=rsa-sha256; (.|\n)*cv=none/);
  const v = await dkimpyArcVerify(s.dns, copy);
  t.is(v.cv, 'pass', v.reason);
  t.deepEqual(v.sets.map((x) => [x.i, x.cv, x.as, x.ams, x.d]), [[1, 'none', true, true, 'lists.test']]);
});

test('control/arcseal off (the default): forwards and list posts leave without ARC fields', async (t) => {
  const s = await site(t, '0');
  const sealed = await dkimpySealed(MESSAGE, 'origin.test', 'o1', s.origin.path);
  for (const to of ['joe', 'team']) await s.inject(to, sealed);
  await until('two copies out', () => s.sent.length === 2);
  for (const m of s.sent) {
    t.is(m.body.match(/^ARC-Seal:/gm)?.length, 1, 'only the incoming set');
    t.is((await dkimpyArcVerify(s.dns, m.body)).sets.length, 1);
  }
});

test('no RSA key for the sealing domain: forward and list post wait (4.3.5), nothing leaves unsealed; a bad control/arcseal is refused', async (t) => {
  const s = await site(t, 'nokey.test');
  await s.inject('joe', Buffer.from(MESSAGE));
  await s.inject('team', Buffer.from(MESSAGE));
  await until('both local deliveries deferred', () => s.deferred.length >= 2);
  const joe = s.deferred.find((e) => e.recipient === `joe@${ME}`)!;
  t.regex(joe.report, /Unable to forward message: ARC sealing as nokey\.test needs an RSA key/);
  t.regex(joe.report, /4\.3\.5/);
  t.regex(s.deferred.find((e) => e.recipient === `team@${ME}`)!.report, /ARC sealing as nokey\.test/);
  t.is(s.sent.length, 0, 'nothing was sent on unsealed');
  writeFileSync(join(s.home, 'control', 'arcseal'), 'not a domain!\n');
  const bad = await runNode(MAIN, ['--home', s.home, 'list', 'post', 'team'], MESSAGE, {});
  t.is(bad.code, 111, bad.stderr);
  t.regex(bad.stderr, /arcseal/);
});
