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
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as { port: number }).port, received };
}

/** A raw TCP server whose connections are handed to `onConnection`. */
export async function rawPeer(t: ExecutionContext, onConnection: (s: Socket, n: number) => void, host = '127.0.0.1'): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onConnection(s, n++);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, connections: () => n };
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
  const bin = needCommand('dnsmasq', 'dnsmasq-base');
  const port = await freeUdpPort();
  const child = spawn(bin, ['-C', '/dev/null', '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--pid-file=', '--local=/test/', ...records], { stdio: 'ignore' });
  t.teardown(() => { child.kill(); });
  const server = `127.0.0.1:${port}`;
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([server]);
  for (let i = 0; i < 50; i++) {
    try {
      await r.resolveMx('ready.test');
      return server;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOTFOUND') return server;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  throw new Error('dnsmasq did not start');
}

/** A UDP "DNS server" that never answers (DNS timeouts). */
export async function silentDns(t: ExecutionContext): Promise<string> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  t.teardown(() => s.close());
  return `127.0.0.1:${s.address().port}`;
}
