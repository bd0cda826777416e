// DKIM signing end to end, judged by independent verifiers from Debian (dkimpy and
// opendkim-testmsg / opendkim-testkey) reading the keys `qmta dkim keygen` printed from a
// real DNS server (dnsmasq): keygen and show as commands, `qmta inject` dual-signed
// (RSA-2048 + Ed25519) and delivered over SMTP to a loopback peer, an Ed25519-only
// signature, a bounce, a post through a qmta list with one-click unsubscription, a message
// larger than the signing spool's memory, and the bad inputs (unreadable or broken keys,
// bad control lines, keygen misuse).

import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMta } from '../../ts/index.js';
import { perm } from '../../ts/outcome.js';
import { openQueue } from '../../ts/queue/index.js';
import { loadKeyring } from '../../ts/dkim/keyring.js';
import { signingQueue } from '../../ts/dkim/signing-queue.js';
import { addSubscribers } from '../../ts/lists/create.js';
import { listState } from '../../ts/lists/store.js';
import { tempDir } from '../helpers/home.js';
import { recordingRemote } from '../helpers/remote.js';
import { until } from '../helpers/wait.js';
import { dkimpyVerify, opendkimTestkey, opendkimVerify, parseZoneLine, txtOption, type Txt } from '../helpers/mailauth-peers.js';
import { dnsmasq, smtpPeer } from './remote-peers.js';
import { runNode } from './inject-process.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;
const DOMAIN = 'example.test';

interface Keyed {
  readonly home: string;
  readonly records: Txt[];
  readonly selectors: string[];
}

async function qmta(home: string, args: readonly string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(MAIN, ['--home', home, ...args], input, {});
}

/** A home with control/me and locals, and keys made by `qmta dkim keygen` (one per algorithm). */
async function keyedHome(t: ExecutionContext, algorithms: readonly string[]): Promise<Keyed> {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), `${DOMAIN}\n`);
  writeFileSync(join(home, 'control', 'locals'), `${DOMAIN}\n`);
  const records: Txt[] = [];
  const selectors: string[] = [];
  for (const a of algorithms) {
    const selector = `${a === 'rsa' ? 'r' : 'e'}1`;
    const r = await qmta(home, ['dkim', 'keygen', DOMAIN, '--selector', selector, '--algorithm', a]);
    t.is(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.includes('IN TXT'));
    t.truthy(line, r.stdout);
    records.push(parseZoneLine(line!));
    selectors.push(selector);
  }
  return { home, records, selectors };
}

async function dnsFor(t: ExecutionContext, records: readonly Txt[]): Promise<string> {
  return dnsmasq(t, records.map(txtOption));
}

const MESSAGE = `From: Alice <alice@${DOMAIN}>\nTo: bob@remote.test\nSubject: dual signed\nList-Unsubscribe: <mailto:u@${DOMAIN}>\n` +
  `List-Unsubscribe-Post: List-Unsubscribe=One-Click\n\nHello  Bob,   trailing blanks   \n\n\nand blank lines at the end\n\n\n`;

test('keygen writes 0600 keys and control/dkimkeys; show lists them; opendkim-testkey matches each key to its record', async (t) => {
  const k = await keyedHome(t, ['rsa', 'ed25519']);
  const lines = readFileSync(join(k.home, 'control', 'dkimkeys'), 'utf8').trim().split('\n');
  t.deepEqual(lines, [`${DOMAIN}:r1:control/dkim/${DOMAIN}.r1.key`, `${DOMAIN}:e1:control/dkim/${DOMAIN}.e1.key`]);
  for (const s of k.selectors) t.is(statSync(join(k.home, 'control', 'dkim', `${DOMAIN}.${s}.key`)).mode & 0o777, 0o600);
  t.is(statSync(join(k.home, 'control', 'dkim')).mode & 0o777, 0o700);
  t.regex(k.records[0]!.value, /^v=DKIM1; k=rsa; p=MIIBIjAN/);
  t.regex(k.records[1]!.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  const show = await qmta(k.home, ['dkim', 'show']);
  t.is(show.code, 0, show.stderr);
  t.regex(show.stdout, new RegExp(`^${DOMAIN} r1 rsa 2048 .*\\n  r1\\._domainkey\\.${DOMAIN}\\. IN TXT`, 'm'));
  t.regex(show.stdout, new RegExp(`^${DOMAIN} e1 ed25519 256 `, 'm'));
  const rsaKey = join(k.home, 'control', 'dkim', `${DOMAIN}.r1.key`);
  const good = await opendkimTestkey(t, k.records, DOMAIN, 'r1', rsaKey);
  t.is(good.code, 0, good.stderr + good.stdout);
  t.regex(good.stderr + good.stdout, /key OK/);
  // Another RSA key does not match r1's record: opendkim-testkey notices.
  const other = join(tempDir(t), 'other.key');
  writeFileSync(other, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const wrong = await opendkimTestkey(t, k.records, DOMAIN, 'r1', other);
  t.not(wrong.code, 0, wrong.stderr + wrong.stdout);
});

test('keygen refuses a bad domain, a bad selector, a taken selector and an unknown algorithm (exit 100)', async (t) => {
  const k = await keyedHome(t, ['rsa']);
  for (const args of [['bad_domain'], [DOMAIN, '--selector', 'no;pe'], [DOMAIN, '--selector', 'r1'], [DOMAIN, '--algorithm', 'dsa'], ['nodot']]) {
    const r = await qmta(k.home, ['dkim', 'keygen', ...args]);
    t.is(r.code, 100, `${args.join(' ')}: ${r.stderr}`);
  }
  t.is(readFileSync(join(k.home, 'control', 'dkimkeys'), 'utf8').trim().split('\n').length, 1);
});

test('qmta inject is dual-signed (RSA + Ed25519) once, goes out over SMTP, and both verifiers pass both signatures', async (t) => {
  const k = await keyedHome(t, ['rsa', 'ed25519']);
  const peer = await smtpPeer(t, { options: { hideSTARTTLS: true } });
  writeFileSync(join(k.home, 'control', 'smtproutes'), `:127.0.0.1:${peer.port}\n`);
  const mta = await createMta({ home: k.home, log: false });
  t.teardown(() => mta.stop(2000));
  await mta.start();
  const r = await qmta(k.home, ['inject', 'bob@remote.test'], MESSAGE);
  t.is(r.code, 0, r.stderr);
  await until('the peer to receive the message', () => peer.received.length === 1);
  const wire = peer.received[0]!.data;
  t.is((wire.toString('latin1').match(/^DKIM-Signature:/gm) ?? []).length, 2, 'signed once: one signature per key');
  const dns = await dnsFor(t, k.records);
  const results = await dkimpyVerify(dns, wire);
  t.deepEqual(results.map((x) => [x.ok, x.d, x.s, x.a]), [[true, DOMAIN, 'r1', 'rsa-sha256'], [true, DOMAIN, 'e1', 'ed25519-sha256']]);
  t.regex(results[0]!.h.toLowerCase(), /list-unsubscribe-post.*list-unsubscribe|list-unsubscribe.*list-unsubscribe-post/);
  const od = await opendkimVerify(t, k.records, wire);
  t.is(od.code, 0, od.stderr);
  // A changed byte breaks both, for both verifiers (they really check).
  const tampered = Buffer.from(wire.toString('latin1').replace('Hello  Bob', 'Hello  Rob'), 'latin1');
  t.deepEqual((await dkimpyVerify(dns, tampered)).map((x) => x.ok), [false, false]);
  t.not((await opendkimVerify(t, k.records, tampered)).code, 0);
});

test('Ed25519 alone: opendkim-testmsg and dkimpy verify it; a subdomain author is signed by the parent domain', async (t) => {
  const k = await keyedHome(t, ['ed25519']);
  const { remote, sent } = recordingRemote();
  const mta = await createMta({ home: k.home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  await mta.start();
  await mta.send(`From: news@mail.${DOMAIN}\nTo: x@remote.test\nSubject: ed only\n\nhi\n`);
  await until('the message to go out', () => sent.length === 1);
  const body = sent[0]!.body;
  t.regex(body, /^DKIM-Signature: v=1; a=ed25519-sha256;/);
  t.deepEqual((await dkimpyVerify(await dnsFor(t, k.records), body)).map((x) => [x.ok, x.d]), [[true, DOMAIN]]);
  const od = await opendkimVerify(t, k.records, body);
  t.is(od.code, 0, od.stderr);
  t.not((await opendkimVerify(t, k.records, body.replace('Subject: ed only', 'Subject: ed 0nly'))).code, 0);
});

test('a bounce from MAILER-DAEMON is signed', async (t) => {
  const k = await keyedHome(t, ['rsa']);
  const mta = await createMta({
    home: k.home, log: false,
    remote: { deliver: async (req) => req.recipients.map((address) => ({ address, outcome: perm('5.1.1', 'no such user') })) },
  });
  t.teardown(() => mta.stop(2000));
  await mta.start();
  await mta.inject({ from: `postmaster@${DOMAIN}`, to: ['nobody@remote.test'], message: Buffer.from('Subject: will bounce\n\nx\n') });
  const dir = join(k.home, 'alias', 'Maildir', 'new');
  const file = await until('the bounce in the postmaster maildir', () => readdirSync(dir)[0]);
  const bounce = readFileSync(join(dir, file));
  t.regex(bounce.toString('latin1'), /DKIM-Signature: v=1; a=rsa-sha256;[\s\S]*From: MAILER-DAEMON@example\.test\n/);
  const results = await dkimpyVerify(await dnsFor(t, k.records), bounce);
  t.deepEqual(results.map((x) => x.ok), [true]);
});

test('a post through a qmta list (one-click) is signed by the list domain and verifies for each subscriber', async (t) => {
  const k = await keyedHome(t, ['rsa']);
  const { remote, sent } = recordingRemote();
  const mta = await createMta({ home: k.home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  const made = await qmta(k.home, ['list', 'create', 'team', '--one-click-url', `https://${DOMAIN}/unsub`]);
  t.is(made.code, 0, made.stderr);
  t.is((await addSubscribers(listState(join(k.home, 'alias'), 'team'), ['a@one.test', 'b@two.test'])).kind, 'ok');
  await mta.start();
  // The author's domain is not ours: the list signs as its own domain (relayed DKIM of the
  // author, if any, stays in the message).
  await mta.inject({ from: 'poster@else.test', to: [`team@${DOMAIN}`], message: Buffer.from('From: Poster <poster@else.test>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nSubject: to the list\n\nhello list\n') });
  await until('both copies to go out', () => sent.length === 2);
  const dns = await dnsFor(t, k.records);
  for (const s of sent) {
    t.regex(s.body, /List-Unsubscribe-Post: List-Unsubscribe=One-Click/);
    const [r] = await dkimpyVerify(dns, s.body);
    t.true(r?.ok, s.body.slice(0, 600));
    t.is(r?.d, DOMAIN);
    t.regex(r!.h.toLowerCase(), /list-unsubscribe-post/);
    const od = await opendkimVerify(t, k.records, s.body);
    t.is(od.code, 0, od.stderr);
  }
});

test('a message larger than the spool memory is signed from its spool file and verifies; no spool file is left', async (t) => {
  const k = await keyedHome(t, ['rsa']);
  const ring = await loadKeyring([{ domain: DOMAIN, selector: 'r1', path: join(k.home, 'control', 'dkim', `${DOMAIN}.r1.key`) }]);
  if (ring.kind !== 'ok') return t.fail(ring.text);
  const q = openQueue(join(k.home, 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const spoolDir = tempDir(t);
  const signed = signingQueue(q.value, () => ring.value, { spoolDir, memoryLimit: 4096 });
  const line = 'x'.repeat(70) + '\n';
  const body = Buffer.from(`From: a@${DOMAIN}\nSubject: big\n\n${line.repeat(3000)}`);
  const w = signed.createWriter();
  if (w.kind !== 'ok') return t.fail(w.text);
  for (let i = 0; i < body.length; i += 1000) t.is(w.value.write(body.subarray(i, i + 1000)), undefined);
  t.is(readdirSync(spoolDir).length, 1, 'spooled to a file past 4 KiB');
  const id = await w.value.commit({ sender: `a@${DOMAIN}`, recipients: ['r@remote.test'] });
  if (id.kind !== 'ok') return t.fail(id.text);
  t.deepEqual(readdirSync(spoolDir), []);
  const queued = readFileSync(q.value.bodyPath(id.value));
  t.true(queued.subarray(queued.length - body.length).equals(body));
  t.deepEqual((await dkimpyVerify(await dnsFor(t, k.records), queued)).map((x) => x.ok), [true]);
});

test('bad keys and control lines: qmta inject exits 111 and queues nothing; a domain without a key is queued unsigned', async (t) => {
  const k = await keyedHome(t, ['rsa']);
  const dir = join(k.home, 'control', 'dkim');
  const control = join(k.home, 'control', 'dkimkeys');
  const q = openQueue(join(k.home, 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const cases: Array<[string, string, string | undefined, RegExp]> = [
    ['missing key file', `${DOMAIN}:r1:control/dkim/none.key`, undefined, /unreadable: ENOENT/],
    ['not a key', `${DOMAIN}:r1:control/dkim/bad.key`, 'hello\n', /not a PEM private key/],
    ['a 512-bit RSA key', `${DOMAIN}:r1:control/dkim/bad.key`, rsa(512), /use RSA of 1024\+ bits/],
    ['a bad control line', `${DOMAIN}:only-two`, undefined, /control\/dkimkeys: line 1: not domain:selector:keyfile/],
    ['a bad selector', `${DOMAIN}:a b:x.key`, undefined, /bad selector/],
  ];
  for (const [what, line, keyText, why] of cases) {
    writeFileSync(control, `${line}\n`);
    if (keyText !== undefined) writeFileSync(join(dir, 'bad.key'), keyText);
    const r = await qmta(k.home, ['inject', 'bob@remote.test'], MESSAGE);
    t.is(r.code, 111, what);
    t.regex(r.stderr, why, what);
  }
  t.is(q.value.listTodo().length, 0);
  writeFileSync(join(dir, 'other.key'), rsa(2048));
  writeFileSync(control, 'other.test:s:control/dkim/other.key\n');
  const unsigned = await qmta(k.home, ['inject', 'bob@remote.test'], MESSAGE);
  t.is(unsigned.code, 0, unsigned.stderr);
  const [id] = q.value.listTodo();
  t.false(readFileSync(q.value.bodyPath(id!), 'latin1').includes('DKIM-Signature'));
});
