// The checks of inbound mail (ts/inbound) against a real DNS server on loopback (dnsmasq with
// TXT records): SPF pass, fail, softfail, neutral, none, temperror (a zone whose server never
// answers), permerror, the 10-lookup and 2-void-lookup limits, HELO for <>; DKIM pass and
// fail; DMARC with relaxed and strict alignment, p=reject (550 5.7.1 when dmarcreject is on),
// p=quarantine (marked only), temperror (451, never 5xx); ARC over a message forwarded and
// sealed by dkimpy (pass, and fail once a seal is broken). Every Authentication-Results
// field is parsed by python3-authres; relay clients and authenticated users are not checked.

import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { keyringOf, type DkimKey } from '../../ts/dkim/keyring.js';
import { signMessage } from '../../ts/dkim/sign.js';
import { claimsAuthservId, createDataCheck } from '../../ts/inbound/data.js';
import { createMailFromCheck, type SpfVerdict } from '../../ts/inbound/mail-from.js';
import type { CheckContext, InboundSettings } from '../../ts/inbound/settings.js';
import { needPythonModule } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { crlf, run, txtOption } from '../helpers/mailauth-peers.js';
import { dnsmasq, silentDns } from './remote-peers.js';

const ID = 'mx.ours.test';

function rsaKey(domain: string, selector: string): { key: DkimKey; txt: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const p = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { key: { domain, selector, path: '-', algorithm: 'rsa', bits: 2048, pem, key: privateKey }, txt: `--txt-record=${selector}._domainkey.${domain},v=DKIM1; k=rsa; p=${p.slice(0, 250)},${p.slice(250)}` };
}

const DKIM = rsaKey('dkim.test', 's1');
const FWD = rsaKey('fwd.test', 'arc');

/** The test zone: one name per scenario. */
async function zone(t: ExecutionContext): Promise<string> {
  const silent = await silentDns(t);
  const spf = (name: string, v: string) => txtOption({ name, value: v });
  const includes = Array.from({ length: 11 }, (_, i) => `include:i${i}.limit.test`).join(' ');
  return dnsmasq(t, [
    spf('pass.test', 'v=spf1 ip4:127.0.0.0/8 -all'),
    spf('fail.test', 'v=spf1 ip4:192.0.2.1 -all'),
    spf('softfail.test', 'v=spf1 ~all'),
    spf('neutral.test', 'v=spf1 ?all'),
    '--host-record=none.test,192.0.2.9',
    spf('permerror.test', 'v=spf1 ip4:127.0.0.1 bogus:x -all'),
    spf('limit.test', `v=spf1 ${includes} ip4:127.0.0.1 -all`),
    ...Array.from({ length: 11 }, (_, i) => spf(`i${i}.limit.test`, 'v=spf1 ip4:192.0.2.1 -all')),
    spf('void.test', 'v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ip4:127.0.0.1 -all'),
    spf('helo.test', 'v=spf1 ip4:127.0.0.1 -all'),
    `--server=/temp.test/${silent.replace(':', '#')}`,
    spf('dkim.test', 'v=spf1 ip4:192.0.2.1 -all'),
    DKIM.txt, FWD.txt,
    spf('_dmarc.dkim.test', 'v=DMARC1; p=reject'),
    spf('_dmarc.strict.dkim.test', 'v=DMARC1; p=reject; adkim=s; aspf=s'),
    spf('_dmarc.q.dkim.test', 'v=DMARC1; p=quarantine'),
    spf('_dmarc.pass.test', 'v=DMARC1; p=reject'),
    `--server=/_dmarc.tmp.dkim.test/${silent.replace(':', '#')}`,
  ]);
}

// The DNS time limit of a check: generous where dnsmasq answers (a loaded machine took
// more than 3 s for a@none.test, a temperror that failed the test), short where the test
// waits for it to pass (names under the silent server).
const ANSWERED_MS = 30_000;
const SILENT_MS = 3000;

function settings(dns: string, over: Partial<InboundSettings> = {}): () => InboundSettings {
  return () => ({ authservId: ID, spfReject: false, dmarcReject: false, timeoutMs: ANSWERED_MS, dnsServers: [dns], ...over });
}

const stranger = (sender: string, helo = 'client.test'): CheckContext => ({ ip: '127.0.0.1', helo, sender, relayClient: false, user: undefined });

interface Parsed { method: string; result: string; props: Record<string, string> }

/** python3-authres's reading of an Authentication-Results field. */
async function authres(field: string): Promise<{ id: string; results: Parsed[] }> {
  needPythonModule('authres', 'python3-authres');
  const script = 'import sys, json, authres\nh = authres.AuthenticationResultsHeader.parse(sys.stdin.read())\n' +
    'print(json.dumps({"id": h.authserv_id, "results": [{"method": r.method, "result": r.result, "props": {p.type + "." + p.name: p.value for p in r.properties}} for r in h.results]}))';
  const full = field.startsWith('Authentication-Results:') ? field : `Authentication-Results: ${field}`;
  const r = await run('/usr/bin/python3', ['-c', script], full.replace(/\n\t/g, ' ').trim());
  if (r.code !== 0) throw new Error(`authres could not parse ${field}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { id: string; results: Parsed[] };
}

test('SPF at MAIL FROM: pass, fail, softfail, neutral, none, temperror, permerror, lookup and void limits, HELO for <>', async (t) => {
  const dns = await zone(t);
  const answered = createMailFromCheck(settings(dns));
  const silent = createMailFromCheck(settings(dns, { timeoutMs: SILENT_MS }));
  const check = (c: CheckContext) => (c.sender.endsWith('@temp.test') ? silent : answered)(c);
  const cases: Array<[string, string, string?]> = [
    ['a@pass.test', 'pass'], ['a@fail.test', 'fail'], ['a@softfail.test', 'softfail'], ['a@neutral.test', 'neutral'],
    ['a@none.test', 'none'], ['a@temp.test', 'temperror'], ['a@permerror.test', 'permerror'], ['a@limit.test', 'permerror'],
    ['a@void.test', 'permerror'], ['', 'pass', 'helo.test'],
  ];
  for (const [sender, want, helo] of cases) {
    const r = await check(stranger(sender, helo));
    t.is(r.spf?.result, want, sender || `<> HELO ${helo}`);
    t.is(r.reply, undefined, 'spfreject off: marked only');
    const parsed = await authres(`${ID}; ${r.spf!.info}`);
    t.is(parsed.results[0]?.result, want);
    t.is(parsed.results[0]?.props[sender ? 'smtp.mailfrom' : 'smtp.helo'], sender ? sender.split('@')[1] : helo);
  }
  const limited = await check(stranger('a@limit.test'));
  t.regex(limited.spf!.info, /Too many DNS requests/);
  t.deepEqual(await check({ ...stranger('a@fail.test'), relayClient: true }), { spf: undefined });
  t.deepEqual(await check({ ...stranger('a@fail.test'), user: 'joe' }), { spf: undefined });
});

test('spfreject: fail is 550 5.7.23, a DNS failure 451 4.7.24 (never a 5xx), softfail and permerror pass', async (t) => {
  const dns = await zone(t);
  const check = createMailFromCheck(settings(dns, { spfReject: true }));
  const silent = createMailFromCheck(settings(dns, { spfReject: true, timeoutMs: SILENT_MS }));
  t.like((await check(stranger('a@fail.test'))).reply, { code: 550, status: '5.7.23' });
  t.like((await silent(stranger('a@temp.test'))).reply, { code: 451, status: '4.7.24' });
  for (const s of ['a@softfail.test', 'a@permerror.test', 'a@pass.test', 'a@none.test']) t.is((await check(stranger(s))).reply, undefined, s);
  const started = Date.now();
  await silent(stranger('a@temp.test'));
  t.true(Date.now() - started < 10_000, 'bounded by the time limit');
});

async function signed(from: string, body = 'hello\n'): Promise<Buffer> {
  const msg = Buffer.from(`From: ${from}\nTo: x@ours.test\nSubject: check\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <1@dkim.test>\n\n${body}`);
  const sig = await signMessage(keyringOf([DKIM.key]), Readable.from([msg]));
  if (sig.kind !== 'ok') throw new Error(sig.text);
  return Buffer.concat([Buffer.from(sig.value), msg]);
}

async function dataCheck(dns: string, sender: string, message: Buffer, over: Partial<InboundSettings> = {}, spfResult?: SpfVerdict) {
  const s = settings(dns, over);
  const spf = spfResult ?? (await createMailFromCheck(s)(stranger(sender))).spf;
  return createDataCheck(s)({ ...stranger(sender), spf }, Readable.from([crlf(message)]));
}

function byMethod(p: { results: Parsed[] }, m: string): Parsed | undefined {
  return p.results.find((r) => r.method === m);
}

test('DKIM and DMARC: aligned pass (relaxed), a broken signature, strict alignment, reject, quarantine, temperror', async (t) => {
  const dns = await zone(t);
  const ok = await dataCheck(dns, 'b@dkim.test', await signed('a@news.dkim.test'));
  const p = await authres(ok.prepend);
  t.is(p.id, ID);
  t.is(byMethod(p, 'dkim')?.result, 'pass');
  t.is(byMethod(p, 'dkim')?.props['header.d'], 'dkim.test');
  t.is(byMethod(p, 'spf')?.result, 'fail');
  t.is(byMethod(p, 'dmarc')?.result, 'pass', 'relaxed: d=dkim.test aligns with news.dkim.test');
  t.is(ok.reply, undefined);
  t.deepEqual(ok.drop, { field: 'Authentication-Results', authservId: ID });
  t.regex(ok.prepend, /^Authentication-Results: mx\.ours\.test;\n\t/);

  const broken = Buffer.from((await signed('a@dkim.test')).toString('latin1').replace('hello', 'HELLO'), 'latin1');
  const b = await authres((await dataCheck(dns, 'b@dkim.test', broken)).prepend);
  t.is(byMethod(b, 'dkim')?.result, 'fail');
  t.is(byMethod(b, 'dmarc')?.result, 'fail');

  const strict = await authres((await dataCheck(dns, 'b@dkim.test', await signed('a@strict.dkim.test'))).prepend);
  t.is(byMethod(strict, 'dkim')?.result, 'pass');
  t.is(byMethod(strict, 'dmarc')?.result, 'fail', 'adkim=s: d=dkim.test is not strict.dkim.test');

  const rejected = await dataCheck(dns, 'b@dkim.test', broken, { dmarcReject: true });
  t.like(rejected.reply, { code: 550, status: '5.7.1' });
  t.is((await dataCheck(dns, 'b@dkim.test', broken)).reply, undefined, 'dmarcreject off: marked only');
  const quarantined = await dataCheck(dns, 'b@q.dkim.test', Buffer.from('From: a@q.dkim.test\nSubject: q\n\nx\n'), { dmarcReject: true });
  t.is(quarantined.reply, undefined, 'p=quarantine is marked, not refused');
  t.is(byMethod(await authres(quarantined.prepend), 'dmarc')?.result, 'fail');
  const tmp = await dataCheck(dns, 'b@tmp.dkim.test', Buffer.from('From: a@tmp.dkim.test\nSubject: t\n\nx\n'), { dmarcReject: true, timeoutMs: SILENT_MS });
  t.like(tmp.reply, { code: 451, status: '4.7.1' });
  t.is(byMethod(await authres(tmp.prepend), 'dmarc')?.result, 'temperror');
  const spfAligned = await dataCheck(dns, 'b@pass.test', Buffer.from('From: a@pass.test\nSubject: s\n\nx\n'), { dmarcReject: true });
  t.is(byMethod(await authres(spfAligned.prepend), 'dmarc')?.result, 'pass', 'SPF-aligned pass without DKIM');
});

test('ARC: a message forwarded and sealed by dkimpy verifies (arc=pass); a broken seal is arc=fail', async (t) => {
  needPythonModule('dkim', 'python3-dkim');
  const dns = await zone(t);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'fwd.key'), FWD.key.pem);
  const original = (await signed('a@dkim.test')).toString('latin1');
  // The forwarder (a list) records its verdict on arrival, changes the message (subject tag,
  // footer: the author's signature breaks), then seals what it sends.
  const changed = original.replace('Subject: check', 'Subject: [list] check').replace(/hello\n$/, 'hello\n--\nlist footer\n');
  const withAr = Buffer.from(`Authentication-Results: fwd.test; dkim=pass header.d=dkim.test; dmarc=pass\n${changed}`, 'latin1');
  const seal = 'import sys, dkim\nmsg = sys.stdin.buffer.read()\n' +
    `sig = dkim.arc_sign(msg, b"arc", b"fwd.test", open(${JSON.stringify(join(dir, 'fwd.key'))}, "rb").read(), b"fwd.test")\n` +
    'sys.stdout.buffer.write(b"".join(sig) + msg)';
  const sealed = await run('/usr/bin/python3', ['-c', seal], crlf(withAr));
  t.is(sealed.code, 0, sealed.stderr);
  const forwarded = Buffer.from(sealed.stdout, 'latin1');
  const r = await authres((await dataCheck(dns, 'list@fwd.test', forwarded)).prepend);
  t.is(byMethod(r, 'dkim')?.result, 'fail', 'the list broke the author signature');
  t.is(byMethod(r, 'arc')?.result, 'pass');
  const badSeal = Buffer.from(forwarded.toString('latin1').replace(/(ARC-Seal: [^]*?b=)([A-Za-z0-9+/])/, (_m, a: string, c: string) => `${a}${c === 'A' ? 'B' : 'A'}`), 'latin1');
  const f = await authres((await dataCheck(dns, 'list@fwd.test', badSeal)).prepend);
  t.is(byMethod(f, 'arc')?.result, 'fail');
});

test('relay clients and authenticated users are not checked; the stream is still read to its end', async (t) => {
  const check = createDataCheck(settings('127.0.0.1:1'));
  let read = 0;
  const message = Readable.from((function* () { for (let i = 0; i < 3; i++) { read++; yield Buffer.from('x\n'); } })());
  const r = await check({ ...stranger('a@x.test'), relayClient: true, spf: undefined }, message);
  t.is(r.prepend, '');
  t.is(read, 3);
});

test('claimsAuthservId: the first token, case-insensitive, past comments; other ids and look-alikes are kept', (t) => {
  t.true(claimsAuthservId(' mx.ours.test; spf=pass', ID));
  t.true(claimsAuthservId(' (forged) MX.Ours.Test 1; dkim=pass', ID));
  t.true(claimsAuthservId('mx.ours.test;\r\n\tdkim=pass', ID));
  t.false(claimsAuthservId(' mx.ours.test.evil; spf=pass', ID));
  t.false(claimsAuthservId(' gmail.com; spf=pass', ID));
});
