// Test harness for the SMTP server: a server on loopback port 0 over a fresh queue in a
// temporary directory, and a raw socket client that reads whole SMTP replies.

import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { openQueue, type DurableQueue } from '../../ts/queue/index.js';
import { startSmtpd, type ListenerKind, type SmtpdDeps, type SmtpdHandle, type SmtpdSettings } from '../../ts/smtpd/index.js';
import { tempDir } from '../helpers/home.js';

export interface TestServer {
  readonly handle: SmtpdHandle;
  readonly queue: DurableQueue;
  readonly dir: string;
  port(kind?: ListenerKind): number;
  /** The committed messages: envelope and body text. */
  messages(): { id: string; sender: string; recipients: readonly string[]; body: string }[];
}

const loop = [{ host: '127.0.0.1', port: 0 }];

export async function startTestServer(
  t: ExecutionContext,
  settings: Partial<SmtpdSettings> = {},
  deps: Partial<SmtpdDeps> = {},
): Promise<TestServer> {
  const dir = tempDir(t, 'qmta-smtpd-');
  const q = openQueue(join(dir, 'queue'));
  if (q.kind !== 'ok') throw new Error(q.text);
  const handle = await startSmtpd(
    { hostname: 'mx.example.test', smtp: loop, submission: loop, rcpthosts: ['example.test'], ...settings },
    { queue: q.value, ...deps },
  );
  t.teardown(() => handle.close());
  const queue = q.value;
  return {
    handle,
    queue,
    dir,
    port: (kind = 'smtp') => handle.addresses.find((a) => a.kind === kind)!.port,
    messages: () =>
      queue.listTodo().map((id) => {
        const env = queue.readTodo(id);
        if (env.kind !== 'ok') throw new Error(env.text);
        return { id, sender: env.value.sender, recipients: env.value.recipients, body: readFileSync(queue.bodyPath(id), 'utf8') };
      }),
  };
}

/** A raw SMTP client: send bytes, await whole replies ("250-..." lines up to "250 ..."). */
export class RawClient {
  readonly socket: Socket;
  #buf = '';
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next `n` complete replies (each possibly multi-line), or fewer if the peer closed. */
  async replies(n = 1, timeoutMs = 30_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const out: string[] = [];
    while (out.length < n) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(this.#buf);
      if (m) {
        out.push(m[0].replace(/\r\n/g, '\n').trimEnd());
        this.#buf = this.#buf.slice(m[0].length);
        continue;
      }
      if (this.#closed || Date.now() > deadline) break;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return out;
  }

  /** One reply's text; a missing one says whether the server closed or was only slow. */
  async reply(): Promise<string> {
    return (await this.replies(1))[0] ?? (this.#closed ? '(closed)' : '(no reply within 30 s)');
  }

  /** Resolves once the server closed the connection (or after the timeout). */
  async waitClose(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.#closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
