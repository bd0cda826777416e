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

const DKIMPY = `
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
