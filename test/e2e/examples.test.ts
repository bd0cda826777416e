// The programs in examples/ run as a user runs them (`node examples/NAME.js`, importing
// 'qmta' by name) against real clients: each test starts one, sends mail with nodemailer or
// Python's smtplib, and checks what the program did with it through an independent reader
// (Python's sqlite3, the test's own HTTP server). The examples also type-check against the
// package's .d.ts (examples/tsconfig.json: checkJs).

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

interface Example { readonly child: ChildProcess; readonly lines: string[]; readonly port: number }

/** Starts examples/NAME.js with `env`, its SMTP listener on a free port; resolves once it says ready. */
async function start(t: ExecutionContext, name: string, env: Record<string, string>): Promise<Example> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('examples', name)], {
    cwd: repo, env: { ...process.env, QMTA_HOME: join(tempDir(t), 'home'), SMTP: `127.0.0.1:${port}`, ...env },
  });
  t.teardown(() => { child.kill('SIGKILL'); });
  const lines: string[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  await until(`${name} to be ready (${err})`, () => err.includes('ready:') || child.exitCode !== null);
  if (!err.includes('ready:')) throw new Error(`${name} exited ${child.exitCode}: ${err}`);
  return { child, lines, port };
}

function exit(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', resolve));
}

test('the examples type-check against the package types', async (t) => {
  await run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'examples', 'tsconfig.json')], { cwd: repo });
  t.pass();
});

test('store-sqlite: each recipient of a message becomes a row; SIGTERM stops it cleanly', async (t) => {
  const db = join(tempDir(t), 'mail.db');
  const ex = await start(t, 'store-sqlite.js', { DB: db, DOMAIN: 'app.test' });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ex.port, secure: false, ignoreTLS: true });
  await transport.sendMail({ from: 'alice@far.test', to: ['joe@app.test', 'ann@app.test'], subject: 'archived', text: 'keep me\n' });
  await until('two deliveries', () => ex.lines.filter((l) => l.startsWith('delivered ')).length >= 2);
  ex.child.kill('SIGTERM');
  t.is(await exit(ex.child), 0);
  const { stdout } = await run('python3', ['-c', `
import sqlite3, json
rows = sqlite3.connect(${JSON.stringify(db)}).execute('select id, recipient, sender, message from mail order by recipient').fetchall()
print(json.dumps([[i, r, s, m.decode()] for (i, r, s, m) in rows]))
`]);
  const rows = JSON.parse(stdout) as [string, string, string, string][];
  t.deepEqual(rows.map(([, r, s]) => [r, s]), [['ann@app.test', 'alice@far.test'], ['joe@app.test', 'alice@far.test']]);
  t.is(rows[0]![0], rows[1]![0], 'one queue id, one row per recipient');
  for (const [, , , message] of rows) {
    t.regex(message, /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n  by mx\.app\.test \(qmta\) with ESMTP; /);
    t.regex(message, /\nSubject: archived\n[\s\S]*\n\nkeep me\n$/);
  }
});

test('webhook: a message is POSTed with its envelope; a 503 defers the recipient', async (t) => {
  const got: { headers: IncomingMessage['headers']; body: string }[] = [];
  const answers = [200, 503];
  const server = createServer((req, res) => {
    void buffer(req).then((body) => {
      got.push({ headers: req.headers, body: body.toString() });
      res.writeHead(answers[got.length - 1] ?? 500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/inbound`;
  const ex = await start(t, 'webhook.js', { WEBHOOK_URL: url, DOMAIN: 'app.test' });
  const send = (subject: string) => run('python3', ['-c', `
import smtplib
c = smtplib.SMTP('127.0.0.1', ${ex.port})
c.sendmail('alice@far.test', ['joe@app.test'], b'Subject: ${subject}\\r\\n\\r\\nhello hook\\r\\n')
c.quit()
`], { timeout: 30_000 });
  await send('first');
  await until('the first delivery', () => ex.lines.find((l) => l.startsWith('delivered ')));
  t.regex(ex.lines.find((l) => l.startsWith('delivered '))!, /^delivered \d+ joe@app\.test: webhook answered 200$/);
  const [first] = got;
  t.like(first!.headers, { 'content-type': 'message/rfc822', 'x-envelope-from': 'alice@far.test', 'x-envelope-to': 'joe@app.test' });
  t.regex(String(first!.headers['x-qmta-id']), /^\d+$/);
  t.is(Number(first!.headers['content-length']), Buffer.byteLength(first!.body));
  t.regex(first!.body, /^Received: from unknown[\s\S]*\nSubject: first\n\nhello hook\n$/);
  await send('second');
  const deferred = await until('the deferral', () => ex.lines.find((l) => l.startsWith('deferred ')));
  t.regex(deferred, /^deferred \d+ joe@app\.test: webhook answered 503 \(#4\.3\.0\)$/);
  t.is(got.length, 2);
});
