// Independent verifiers of mail authentication, from Debian: dkimpy (python3-dkim) and
// OpenDKIM's test tools (opendkim-tools), reading public keys from a real DNS server
// (dnsmasq) on loopback. OpenDKIM's resolver (libunbound) asks the servers of
// /etc/resolv.conf on port 53, so its tools run in a network and mount namespace of their
// own (unshare, as root) where a private dnsmasq answers on 127.0.0.1:53 and a private
// resolv.conf names it: nothing outside the test sees either.

import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needCommand, needPythonModule } from './debian.js';
import { tempDir } from './home.js';

export interface Txt {
  readonly name: string;
  readonly value: string;
}

/** dnsmasq's option for a TXT record, cut into strings of at most 255 bytes. */
export function txtOption(r: Txt): string {
  const parts: string[] = [];
  for (let i = 0; i < r.value.length; i += 255) parts.push(r.value.slice(i, i + 255));
  return `--txt-record=${r.name},${parts.join(',')}`;
}

/** The TXT record of a `qmta dkim` zone line: `S._domainkey.D. IN TXT ( "a" "b" )`. */
export function parseZoneLine(line: string): Txt {
  const m = /^(\S+)\.\s+IN\s+TXT\s+\(\s*(.*)\s*\)\s*$/.exec(line.trim());
  if (!m) throw new Error(`not a TXT zone line: ${line}`);
  const strings = [...m[2]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]);
  return { name: m[1]!, value: strings.join('') };
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with stdin, bounded in time. */
export function run(cmd: string, args: readonly string[], stdin: Buffer | string = '', timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/** LF line ends (the queue's) as CR LF (the wire's). */
export function crlf(message: Buffer | string): Buffer {
  return Buffer.from(Buffer.from(message).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** dkimpy's DNS lookups through dnspython, at the server argv[1]:argv[2]. */
const PY_DNS = `
import sys, json, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[1]]
r.port = int(sys.argv[2])
def dnsfunc(name, timeout=5):
    try:
        a = r.resolve(name.decode().rstrip('.'), 'TXT')
    except Exception:
        return None
    return b''.join(next(iter(a)).strings)
`;

const DKIMPY = PY_DNS + `
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = sum(1 for h in d.headers if h[0].lower() == b'dkim-signature')
out = []
for i in range(n):
    d = dkim.DKIM(msg)
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.DKIMException:
        ok = False
    out.append({'ok': bool(ok), 'd': (d.domain or b'').decode(), 's': (d.selector or b'').decode(),
                'a': (d.signature_fields.get(b'a') or b'').decode(), 'h': (d.signature_fields.get(b'h') or b'').decode()})
print(json.dumps(out))
`;

export interface DkimpyResult {
  readonly ok: boolean;
  readonly d: string;
  readonly s: string;
  readonly a: string;
  readonly h: string;
}

/** dkimpy's verdict on every DKIM-Signature of `message` (sent as CR LF), keys from `dns` (ip:port). */
export async function dkimpyVerify(dns: string, message: Buffer | string): Promise<DkimpyResult[]> {
  needPythonModule('dkim', 'python3-dkim');
  needPythonModule('dns.resolver', 'python3-dnspython');
  const [host, port] = dns.split(':');
  const r = await run('/usr/bin/python3', ['-c', DKIMPY, host!, port!], crlf(message));
  if (r.code !== 0) throw new Error(`dkimpy failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as DkimpyResult[];
}

/** Runs `command` in a private network + mount namespace whose DNS (127.0.0.1:53) serves `records`. */
export async function withPrivateDns(t: ExecutionContext, records: readonly Txt[], command: readonly string[], stdin: Buffer | string = ''): Promise<Run> {
  const dnsmasq = needCommand('dnsmasq', 'dnsmasq-base');
  const ip = needCommand('ip', 'iproute2');
  const dir = tempDir(t);
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `${ip} link set lo up`,
    `mount --bind ${q(join(dir, 'resolv.conf'))} /etc/resolv.conf`,
    [dnsmasq, '-C', '/dev/null', '--port=53', '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--local=/test/', ...records.map(txtOption)].map(q).join(' '),
    `${command.map(q).join(' ')}; rc=$?`,
    `kill $(cat ${q(join(dir, 'dnsmasq.pid'))})`,
    'exit $rc',
  ].join('\n');
  return run('unshare', ['--net', '--mount', 'sh', '-c', script], stdin);
}

/**
 * opendkim-testkey checking that `keyPath` is the private half of the record published for
 * selector._domainkey.domain. It resolves through libunbound, configured here to forward to
 * the private dnsmasq (and to serve .test, which unbound keeps empty by default, RFC 6761).
 */
export function opendkimTestkey(t: ExecutionContext, records: readonly Txt[], domain: string, selector: string, keyPath: string): Promise<Run> {
  const bin = needCommand('opendkim-testkey', 'opendkim-tools');
  const dir = tempDir(t);
  writeFileSync(join(dir, 'unbound.conf'),
    'server:\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\nforward-zone:\n  name: "."\n  forward-addr: 127.0.0.1\n');
  writeFileSync(join(dir, 'opendkim.conf'), `ResolverConfiguration ${join(dir, 'unbound.conf')}\n`);
  return withPrivateDns(t, records, [bin, '-x', join(dir, 'opendkim.conf'), '-d', domain, '-s', selector, '-k', keyPath, '-vvv']);
}

/** opendkim-testmsg verifying `message` (exit 0 = verified). It wants RFC 5322's Date and From. */
export function opendkimVerify(t: ExecutionContext, records: readonly Txt[], message: Buffer | string): Promise<Run> {
  const bin = needCommand('opendkim-testmsg', 'opendkim-tools');
  return withPrivateDns(t, records, [bin], crlf(message));
}

const ARC_VERIFY = PY_DNS + `
cv, results, reason = dkim.arc_verify(sys.stdin.buffer.read(), dnsfunc=dnsfunc)
s = lambda v: v.decode() if isinstance(v, bytes) else v
print(json.dumps({'cv': s(cv), 'reason': s(reason), 'sets': [
    {'i': x.get('instance'), 'cv': s(x.get('cv')), 'as': x.get('as-valid'), 'ams': x.get('ams-valid'), 'd': s(x.get('as-domain'))} for x in results]}))
`;

export interface ArcVerdict {
  /** The chain's result: pass, fail or none. */
  readonly cv: string;
  readonly reason: string;
  /** Each set, newest first: its instance, cv=, whether its ARC-Seal and ARC-Message-Signature verified, d=. */
  readonly sets: Array<{ i: number; cv: string; as: boolean; ams: boolean; d: string }>;
}

/** dkimpy's arc_verify on `message` (sent as CR LF), keys from `dns` (ip:port). */
export async function dkimpyArcVerify(dns: string, message: Buffer | string): Promise<ArcVerdict> {
  needPythonModule('dkim', 'python3-dkim');
  needPythonModule('dns.resolver', 'python3-dnspython');
  const [host, port] = dns.split(':');
  const r = await run('/usr/bin/python3', ['-c', ARC_VERIFY, host!, port!], crlf(message));
  if (r.code !== 0) throw new Error(`dkimpy arc_verify failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ArcVerdict;
}

/** A message DKIM-signed and ARC-sealed (i=1) by dkimpy as `domain` with `keyPath`, after an
 * Authentication-Results of that domain; LF line ends (the queue's). */
export async function dkimpySealed(message: string, domain: string, selector: string, keyPath: string): Promise<Buffer> {
  needPythonModule('dkim', 'python3-dkim');
  // arc_sign parses the Authentication-Results with authres, which Debian only suggests.
  needPythonModule('authres', 'python3-authres');
  const script = 'import sys, dkim\nmsg = sys.stdin.buffer.read()\nd, s, k = sys.argv[1].encode(), sys.argv[2].encode(), open(sys.argv[3], "rb").read()\n' +
    'msg = dkim.sign(msg, s, d, k) + msg\n' +
    'msg = b"Authentication-Results: " + d + b"; spf=pass smtp.mailfrom=" + d + b"\\r\\n" + msg\n' +
    'sig = dkim.arc_sign(msg, s, d, k, d)\n' +
    'sys.stdout.buffer.write((b"".join(sig) + msg).replace(b"\\r\\n", b"\\n"))';
  const r = await run('/usr/bin/python3', ['-c', script, domain, selector, keyPath], crlf(message));
  if (r.code !== 0) throw new Error(`dkimpy arc_sign failed: ${r.stderr}`);
  return Buffer.from(r.stdout, 'latin1');
}
