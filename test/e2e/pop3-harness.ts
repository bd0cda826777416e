// Test scaffolding for the POP3 end-to-end tests: a maildir filled directly, a POP3
// server on a loopback port 0 with in-memory users, a scripted raw client, and a
// self-signed certificate made with openssl.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { ok } from '../../ts/outcome.js';
import { startPop3d, type Pop3Server, type Pop3Settings } from '../../ts/pop3d/index.js';
import { nativeStore } from '../../ts/pop3d/native-store.js';

export interface TestUser {
  readonly password: string;
  readonly apop?: string;
  readonly home: string;
}

/** Creates DIR/Maildir/{tmp,new,cur} and returns the maildir path. */
export function makeMaildir(home: string): string {
  const md = join(home, 'Maildir');
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(md, sub), { recursive: true });
  return md;
}

let seq = 0;
/** Puts a message straight into new/ with a unique name; mtime orders the maildrop. */
export function putMessage(maildir: string, body: string | Buffer, mtimeS = 1_700_000_000 + seq): string {
  const name = `${mtimeS}.M${seq++}P${process.pid}.testhost`;
  const path = join(maildir, 'new', name);
  writeFileSync(path, body);
  utimesSync(path, mtimeS, mtimeS);
  return name;
}

/** A POP3 server with the given users; stopped when the test ends. */
export async function startTestPop3(
  t: ExecutionContext,
  users: Record<string, TestUser>,
  settings: Partial<Pop3Settings> = {},
): Promise<Pop3Server & { port: number; tlsPort?: number }> {
  const server = await startPop3d(
    { listen: ['127.0.0.1:0'], plaintext: true, badPasswordDelayMs: 10, hostname: 'pop.test', ...settings },
    {
      verifyPassword: async (u, p) => ok(users[u]?.password === p),
      apopSecret: async (u) => ok(users[u]?.apop),
      anyApopSecret: async () => ok(Object.values(users).some((u) => u.apop !== undefined)),
      homeOf: async (u) => ok(users[u]?.home),
      store: nativeStore,
    },
  );
  t.teardown(() => server.close());
  const plain = server.addresses.find((a) => !a.tls);
  const secure = server.addresses.find((a) => a.tls);
  return Object.assign(server, { port: plain?.port ?? 0, tlsPort: secure?.port });
}

/** A self-signed certificate for 127.0.0.1 / localhost. */
export function selfSigned(t: ExecutionContext): { key: Buffer; cert: Buffer; certPath: string } {
  const dir = tempDir(t, 'qmta-cert-');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath };
}

/** A line-oriented raw POP3 client for protocol tests. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next CR LF line (without it); undefined once the server closed. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const i = this.buffer.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buffer.toString('latin1', 0, i);
        this.buffer = this.buffer.subarray(i + 2);
        return line;
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Sends one command and returns the status line. */
  async cmd(text: string): Promise<string | undefined> {
    this.socket.write(`${text}\r\n`);
    return this.line();
  }

  /** The lines of a multi-line body up to (not including) the terminator, unstuffed. */
  async body(): Promise<string[]> {
    const lines: string[] = [];
    for (let l = await this.line(); l !== '.'; l = await this.line()) {
      if (l === undefined) throw new Error('connection closed inside a multi-line reply');
      lines.push(l.startsWith('.') ? l.slice(1) : l);
    }
    return lines;
  }

  /** Sends a multi-line command; returns status and body (body only after +OK). */
  async multi(text: string): Promise<{ status: string | undefined; lines: string[] }> {
    const status = await this.cmd(text);
    return { status, lines: status?.startsWith('+OK') ? await this.body() : [] };
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  drop(): void {
    this.socket.destroy();
  }
}

/** Logs in as `user` with USER/PASS and checks the greeting. */
export async function login(port: number, user: string, password: string): Promise<RawClient> {
  const c = await RawClient.open(port);
  const greeting = await c.line();
  if (!greeting?.startsWith('+OK')) throw new Error(`greeting: ${greeting}`);
  await c.cmd(`USER ${user}`);
  const r = await c.cmd(`PASS ${password}`);
  if (!r?.startsWith('+OK')) throw new Error(`login: ${r}`);
  return c;
}
