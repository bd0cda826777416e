// Real peers for the remote-delivery e2e tests, each living as long as its test:
// smtp-server (npm) scripted per recipient, raw TCP servers for broken behaviour,
// dnsmasq (Debian) answering a test zone on a loopback port, a self-signed certificate,
// and the settings that point ts/remote at them.

import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { defaultRemoteSettings, type RemoteSettings } from '../../ts/remote/settings.js';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';

/** A message file in a fresh temp dir, with the request fields around it. */
export function request(t: ExecutionContext, body: string | Buffer, recipients: string[], sender = 'alice@sender.test') {
  const bodyPath = join(tempDir(t), 'body');
  writeFileSync(bodyPath, body);
  const domain = recipients[0]!.slice(recipients[0]!.lastIndexOf('@') + 1);
  return { bodyPath, sender, domain, recipients, id: 'test-1' };
}

export interface Received {
  readonly from: string;
  readonly to: string[];
  readonly data: Buffer;
  readonly secure: boolean;
  readonly user: string | undefined;
}

export interface PeerScript {
  /** RCPT answers by address; unlisted addresses are accepted. */
  readonly rcpt?: Record<string, { code: number; message: string }>;
  /** Answer after the final dot (default 250). */
  readonly data?: { code: number; message: string };
  readonly options?: Partial<SMTPServerOptions>;
}

/** Settings for tests: short timeouts, nothing counts as local unless a test says so. */
export function testSettings(over: Partial<RemoteSettings> = {}): RemoteSettings {
  return { ...defaultRemoteSettings, helohost: 'sender.test', localAddresses: [], timeoutConnect: 2, timeoutRemote: 5, dnsTimeout: 1, dnsTries: 1, ...over };
}

/** Routes every domain to 127.0.0.1:port through the default smtproutes entry. */
export function routedTo(port: number, over: Partial<RemoteSettings> = {}): RemoteSettings {
  return testSettings({ smtproutes: [{ key: '', relay: '127.0.0.1', port }], ...over });
}

function scriptedError(answer: { code: number; message: string }): Error {
  return Object.assign(new Error(answer.message), { responseCode: answer.code });
}

/** An smtp-server peer on 127.0.0.1 (or `host`) that records what it receives. */
export async function smtpPeer(t: ExecutionContext, script: PeerScript = {}, host = '127.0.0.1', port = 0): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false, authOptional: true, disableReverseLookup: true,
    onRcptTo(address, _session, cb) {
      const answer = script.rcpt?.[address.address];
      cb(answer ? scriptedError(answer) : undefined);
    },
    onData(stream, session, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        received.push({ from, to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(parts), secure: session.secure, user: session.user as string | undefined });
        cb(script.data && script.data.code >= 400 ? scriptedError(script.data) : null);
      });
    },
    ...script.options,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as { port: number }).port, received };
}

/** A raw TCP server whose connections are handed to `onConnection`. */
export async function rawPeer(t: ExecutionContext, onConnection: (s: Socket, n: number) => void, host = '127.0.0.1'): Promise<{ port: number; connections: () => number; dropAll: () => void }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onConnection(s, n++);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const dropAll = () => { for (const s of sockets) s.destroy(); };
  t.teardown(() => {
    dropAll();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, connections: () => n, dropAll };
}

/** Reads CRLF lines from a raw peer socket. */
export function lines(s: Socket, onLine: (line: string) => void): void {
  let buf = '';
  s.on('data', (c: Buffer) => {
    buf += c.toString('latin1');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
}

/** A self-signed certificate for `cn` (EC P-256, one day). */
export function selfSigned(t: ExecutionContext, cn: string): { key: Buffer; cert: Buffer } {
  const dir = tempDir(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** dnsmasq answering only from its options (everything under .test is local: unknown = NXDOMAIN). */
export async function dnsmasq(t: ExecutionContext, records: string[]): Promise<string> {
  // dnsmasq binds TCP too, and the UDP port we picked may be taken on TCP by a
  // concurrent test's peer: then it exits at once, and we try another port.
  const errors: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const server = await startDnsmasq(t, records, errors);
    if (server) return server;
  }
  throw new Error(`dnsmasq did not start: ${errors.join(' | ')}`);
}

async function startDnsmasq(t: ExecutionContext, records: string[], errors: string[]): Promise<string | undefined> {
  const bin = needCommand('dnsmasq', 'dnsmasq-base');
  const port = await freeUdpPort();
  const child = spawn(bin, ['-C', '/dev/null', '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--pid-file=', '--local=/test/', ...records], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-500); });
  child.on('exit', (code) => { exited = true; errors.push(`exit ${code}: ${stderr.trim()}`); });
  t.teardown(() => { child.kill(); });
  const server = `127.0.0.1:${port}`;
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([server]);
  for (let i = 0; i < 50 && !exited; i++) {
    try {
      await r.resolveMx('ready.test');
      return server;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOTFOUND') return server;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  if (!exited) errors.push('no answer');
  return undefined;
}

/** A UDP "DNS server" that never answers (DNS timeouts). */
export async function silentDns(t: ExecutionContext): Promise<string> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  t.teardown(() => s.close());
  return `127.0.0.1:${s.address().port}`;
}

export interface RawScript {
  /** EHLO extension lines (default PIPELINING); null answers EHLO with 502 (HELO only). */
  readonly ehlo?: string[] | null;
  /** Send no greeting at all (a server that never answers). */
  readonly silent?: boolean;
  /** What happens to STARTTLS (default: answer 454). */
  readonly startTls?: (s: Socket) => void;
  /** Drop the connection once this many DATA bytes have arrived. */
  readonly dropAfterDataBytes?: number;
  /** Drop the connection right after the final dot, without a reply. */
  readonly dropAfterDot?: boolean;
}

export interface RawSession {
  readonly commands: string[];
  data: Buffer;
}

/** A hand-written SMTP server that records raw DATA bytes and can misbehave on purpose. */
export async function scriptedPeer(t: ExecutionContext, script: RawScript, host = '127.0.0.1') {
  const sessions: RawSession[] = [];
  const peer = await rawPeer(t, (s) => {
    const session: RawSession = { commands: [], data: Buffer.alloc(0) };
    sessions.push(session);
    if (!script.silent) s.write('220 raw.test ESMTP\r\n');
    serve(s, session, script);
  }, host);
  return { port: peer.port, sessions, connections: peer.connections, dropAll: peer.dropAll };
}

function serve(s: Socket, session: RawSession, script: RawScript): void {
  let inData = false;
  let buf = Buffer.alloc(0);
  const onData = (c: Buffer): void => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        session.data = Buffer.concat([session.data, end < 0 ? buf : buf.subarray(0, end + 5)]);
        if (script.dropAfterDataBytes !== undefined && session.data.length >= script.dropAfterDataBytes) return void s.destroy();
        if (end < 0) return void (buf = Buffer.alloc(0));
        buf = buf.subarray(end + 5);
        inData = false;
        if (script.dropAfterDot) return void s.destroy();
        s.write('250 2.0.0 queued as raw\r\n');
        continue;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      buf = buf.subarray(nl + 1);
      session.commands.push(line);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'STAR') {
        s.removeListener('data', onData);
        return void (script.startTls ? script.startTls(s) : s.write('454 4.7.0 TLS not available\r\n'));
      }
      if (verb === 'DATA') inData = true;
      s.write(answer(verb, script));
    }
  };
  s.on('data', onData);
}

function answer(verb: string, script: RawScript): string {
  switch (verb) {
    case 'EHLO': {
      if (script.ehlo === null) return '502 5.5.1 no EHLO here\r\n';
      const all = ['raw.test', ...(script.ehlo ?? ['PIPELINING'])];
      return all.map((l, i) => `250${i === all.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
    }
    case 'HELO': return '250 raw.test\r\n';
    case 'DATA': return '354 go ahead\r\n';
    case 'QUIT': return '221 bye\r\n';
    default: return '250 ok\r\n';
  }
}
