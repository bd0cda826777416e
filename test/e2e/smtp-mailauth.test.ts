// Mail authentication wired into the SMTP service of a running `qmta start`, DNS from
// dnsmasq on loopback, client Python's smtplib: a stranger's signed message is delivered
// (at accept time) with one Authentication-Results field of ours above the Received line
// (python3-authres reads spf, dkim and dmarc pass) and the forged one claiming our id left
// out; control/spfreject refuses SPF fail at MAIL FROM (550 5.7.23); control/dmarcreject
// refuses a DMARC p=reject failure at the end of DATA (550 5.7.1) with nothing delivered;
// and a relay client's message is DKIM-signed with the key `qmta dkim keygen` made, which
// dkimpy verifies against the record keygen printed.

import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { needPythonModule } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { dkimpyVerify, parseZoneLine, run, txtOption } from '../helpers/mailauth-peers.js';
import { freePorts } from '../helpers/net.js';
import { until } from '../helpers/wait.js';
import { dnsmasq } from './remote-peers.js';

const ID = 'mx.ours.test';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUB = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');

async function zone(t: ExecutionContext, extra: string[] = []): Promise<string> {
  const txt = (name: string, value: string) => txtOption({ name, value });
  return dnsmasq(t, [
    txt('pass.test', 'v=spf1 ip4:127.0.0.0/8 -all'),
    txt('fail.test', 'v=spf1 ip4:192.0.2.1 -all'),
    txt('s1._domainkey.pass.test', `v=DKIM1; k=rsa; p=${PUB}`),
    txt('_dmarc.pass.test', 'v=DMARC1; p=reject'),
    ...extra,
  ]);
}

interface Daemon { readonly home: string; readonly port: number; readonly child: ChildProcess }

async function daemon(t: ExecutionContext, control: Record<string, string>, home = join(tempDir(t), 'h')): Promise<Daemon> {
  const [port] = await freePorts(1);
  mkdirSync(join(home, 'control'), { recursive: true });
  const files = { smtplisten: `127.0.0.1:${port}`, submissionlisten: '127.0.0.1:0', pop3listen: '127.0.0.1:0', me: ID, locals: 'ours.test', rcpthosts: 'ours.test', ...control };
  for (const [f, v] of Object.entries(files)) writeFileSync(join(home, 'control', f), `${v}\n`);
  if (!existsSync(join(home, 'mail', 'joe'))) t.is((await runQmta(['--home', home, 'user', 'add', 'joe'])).code, 0);
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await until('qmta listening', () => {
    if (child.exitCode !== null) throw new Error(`qmta start exited ${child.exitCode}: ${stderr}`);
    return existsSync(join(home, 'log', 'qmta.log')) && readFileSync(join(home, 'log', 'qmta.log'), 'utf8').includes('smtpd listening');
  }, 60_000);
  return { home, port: port!, child };
}

/** dkimpy signs `message` for pass.test (selector s1) with the test key. */
function dkimpySign(message: string): string {
  needPythonModule('dkim', 'python3-dkim');
  const r = spawnSync('/usr/bin/python3', ['-c', `
import sys, dkim
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b's1', b'pass.test', sys.argv[1].encode(), include_headers=[b'from', b'to', b'subject'])
sys.stdout.buffer.write(sig + msg)
`, KEY_PEM], { input: message.replace(/\n/g, '\r\n') });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return r.stdout.toString('latin1');
}

/** smtplib: MAIL, RCPT, DATA (the message with CR LF line ends); each step's code. */
function smtp(d: Daemon, sender: string, message: string): number[] {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo('client.pass.test')
codes = [s.mail(sys.argv[2])[0]]
if codes[0] == 250:
    codes.append(s.rcpt('joe@ours.test')[0])
    codes.append(s.data(sys.argv[3].encode('latin-1'))[0])
print(json.dumps(codes))
`, String(d.port), sender, message.replace(/\r?\n/g, '\r\n')], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as number[];
}

const delivered = (d: Daemon) => {
  const dir = join(d.home, 'mail', 'joe', 'Maildir', 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1')) : [];
};

async function authres(field: string): Promise<{ id: string; results: { method: string; result: string }[] }> {
  needPythonModule('authres', 'python3-authres');
  const script = 'import sys, json, authres\nh = authres.AuthenticationResultsHeader.parse(sys.stdin.read())\n' +
    'print(json.dumps({"id": h.authserv_id, "results": [{"method": r.method, "result": r.result} for r in h.results]}))';
  const r = await run('/usr/bin/python3', ['-c', script], field.replace(/\n\t/g, ' ').trim());
  if (r.code !== 0) throw new Error(`authres: ${r.stderr}`);
  return JSON.parse(r.stdout) as { id: string; results: { method: string; result: string }[] };
}

test('a stranger\'s signed message gets one Authentication-Results of ours; the forged one is left out', async (t) => {
  const dns = await zone(t);
  const d = await daemon(t, { relayclients: '192.0.2.1', dnsservers: dns, authservid: ID });
  const message = dkimpySign(`From: a@pass.test\nTo: joe@ours.test\nSubject: signed\nAuthentication-Results: ${ID}; dkim=pass (forged)\n\nhello\n`);
  t.deepEqual(smtp(d, 'a@pass.test', message), [250, 250, 250]);
  const [file] = delivered(d);
  t.truthy(file, 'delivered when the 250 came');
  const header = file!.slice(0, file!.indexOf('\n\n'));
  const fields = header.split(/\n(?![ \t])/);
  t.regex(fields[0]!, /^Return-Path: <a@pass\.test>$/);
  t.regex(fields[1]!, /^Delivered-To: joe@ours\.test$/);
  t.regex(fields[2]!, /^Authentication-Results: mx\.ours\.test;/);
  t.regex(fields[3]!, /^Received: from unknown/);
  t.is(fields.filter((f) => /^Authentication-Results:/i.test(f)).length, 1, 'the forged field is gone');
  const ar = await authres(fields[2]!);
  t.is(ar.id, ID);
  const result = (m: string) => ar.results.find((r) => r.method === m)?.result;
  t.is(result('spf'), 'pass');
  t.is(result('dkim'), 'pass');
  t.is(result('dmarc'), 'pass');
});

test('spfreject refuses SPF fail at MAIL FROM; dmarcreject refuses a p=reject failure at DATA, nothing delivered', async (t) => {
  const dns = await zone(t);
  const d = await daemon(t, { relayclients: '192.0.2.1', dnsservers: dns, authservid: ID, spfreject: '1', dmarcreject: '1' });
  t.deepEqual(smtp(d, 'a@fail.test', 'Subject: x\n\ny\n'), [550]);
  // Signed, then changed: the signature breaks; from <> (SPF checks the HELO name, which has
  // no record) nothing aligns with From: pass.test, whose DMARC policy is p=reject.
  const broken = dkimpySign('From: a@pass.test\nTo: joe@ours.test\nSubject: broken\n\nhello\n').replace('hello', 'HELLO');
  t.deepEqual(smtp(d, '', broken), [250, 250, 550]);
  t.deepEqual(delivered(d), []);
});

test('a relay client\'s message is DKIM-signed with the key qmta dkim keygen made; dkimpy verifies it', async (t) => {
  const home = join(tempDir(t), 'h');
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), `${ID}\n`);
  const gen = await runQmta(['--home', home, 'dkim', 'keygen', 'relay.test', '--selector', 'k1']);
  t.is(gen.code, 0, gen.stderr);
  const record = parseZoneLine(gen.stdout.split('\n').find((l) => l.includes('IN TXT'))!);
  const dns = await zone(t, [txtOption(record)]);
  const d = await daemon(t, { dnsservers: dns, authservid: ID }, home);
  t.deepEqual(smtp(d, 'me@relay.test', 'From: me@relay.test\nTo: joe@ours.test\nSubject: signed by qmta\n\nbody\n'), [250, 250, 250]);
  const [file] = delivered(d);
  t.truthy(file);
  t.false(/^Authentication-Results:/m.test(file!.slice(0, file!.indexOf('\n\n'))), 'a relay client\'s mail is not checked');
  const stored = file!.slice(file!.indexOf('\nDKIM-Signature:') + 1);
  const verdicts = await dkimpyVerify(dns, stored);
  t.is(verdicts.length, 1);
  t.like(verdicts[0], { ok: true, d: 'relay.test', s: 'k1' });
});
