// The programs in examples/ run as a user runs them (`node examples/NAME.js`, importing
// 'qmta' by name) against real clients: each test starts one, sends mail with nodemailer or
// Python's smtplib, and checks what the program did with it through an independent reader
// (Python's sqlite3 and mailbox, the test's own HTTP server standing for a webhook or a
// spam scanner). The examples also type-check against the package's .d.ts
// (examples/tsconfig.json: checkJs).

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
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
  const child = spawn(process.execPath, [join('examples', name)], { cwd: repo, env: exampleEnv(t, { SMTP: `127.0.0.1:${port}`, ...env }) });
  t.teardown(() => { child.kill('SIGKILL'); });
  const lines: string[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  // Started beside the file's other examples and tsc: on a loaded machine (stress-ng) one
  // took more than 30 s to say ready. The limit only bounds a hang.
  await until(`${name} to be ready (${err})`, () => err.includes('ready:') || child.exitCode !== null, 100_000);
  if (!err.includes('ready:')) throw new Error(`${name} exited ${child.exitCode}: ${err}`);
  return { child, lines, port };
}

function exampleEnv(t: ExecutionContext, env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, QMTA_HOME: join(tempDir(t), 'home'), ...env };
}

/** Python's smtplib: EHLO, MAIL, each RCPT, DATA; the replies' codes and texts. */
async function smtplib(port: number, sender: string, recipients: string[], message: string): Promise<[number, string][]> {
  const { stdout } = await run('python3', ['-c', `
import json, smtplib, sys
c = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
c.ehlo('client.test')
out = [c.mail(sys.argv[2])] + [c.rcpt(r) for r in json.loads(sys.argv[3])]
try:
    out.append(c.data(sys.argv[4].encode()))
except smtplib.SMTPDataError as e:
    out.append((e.smtp_code, e.smtp_error))
c.quit()
print(json.dumps([[code, text.decode()] for code, text in out]))
`, String(port), sender, JSON.stringify(recipients), message], { timeout: 60_000 });
  return JSON.parse(stdout) as [number, string][];
}

/** An HTTP server on loopback answering each request (its body read) with `answer`; its base URL. */
async function httpServer(t: ExecutionContext, answer: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => void buffer(req).then((body) => answer(req, body, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
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
  const url = `${await httpServer(t, (req, body, res) => {
    got.push({ headers: req.headers, body: body.toString() });
    res.writeHead(answers[got.length - 1] ?? 500).end();
  })}/inbound`;
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

test('auth-users: AUTH and RCPT from the application\'s table; its users\' mail lands in its database', async (t) => {
  const db = join(tempDir(t), 'app.db');
  await run(process.execPath, [join('examples', 'auth-users.js'), 'adduser', 'Ann@app.test', 'apple pie'], { cwd: repo, env: exampleEnv(t, { DB: db }) });
  const submission = await freePort();
  const ex = await start(t, 'auth-users.js', { DB: db, DOMAIN: 'app.test', SUBMISSION: `127.0.0.1:${submission}` });
  const transport = (pass: string) => nodemailer.createTransport({
    host: '127.0.0.1', port: submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'ann@app.test', pass },
  });
  await transport('apple pie').sendMail({ from: 'ann@app.test', to: 'ann@app.test', subject: 'note to self', text: 'remember\n' });
  const wrong = await t.throwsAsync(transport('apple').sendMail({ from: 'ann@app.test', to: 'ann@app.test', text: 'x' }));
  t.is((wrong as { responseCode?: number }).responseCode, 535);
  const replies = await smtplib(ex.port, 'bob@far.test', ['nobody@app.test', 'ann@app.test'], 'Subject: from bob\r\n\r\nhi ann\r\n');
  t.deepEqual(replies.slice(0, 3), [[250, '2.1.0 sender ok'], [550, '5.1.1 no such user here'], [250, '2.1.5 recipient ok']]);
  t.is(replies[3]![0], 250);
  await until('two deliveries', () => ex.lines.filter((l) => l.startsWith('delivered ')).length >= 2);
  ex.child.kill('SIGTERM');
  t.is(await exit(ex.child), 0);
  const { stdout } = await run('python3', ['-c', `
import sqlite3, json
rows = sqlite3.connect(${JSON.stringify(db)}).execute('select recipient, sender, message from mail order by sender').fetchall()
print(json.dumps([[r, s, m.decode()] for (r, s, m) in rows]))
`]);
  const rows = JSON.parse(stdout) as [string, string, string][];
  t.deepEqual(rows.map(([r, s]) => [r, s]), [['ann@app.test', 'ann@app.test'], ['ann@app.test', 'bob@far.test']]);
  t.regex(rows[0]![2], /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n {2}\(authenticated user ann@app\.test\)\n {2}by mx\.app\.test \(qmta\) with ESMTPSA \(TLS/);
  t.regex(rows[1]![2], /\nSubject: from bob\n\nhi ann\n$/);
});

test('content-check: each message is streamed to the scanner; spam is refused, a deferral or a broken scanner gives 451, clean mail is delivered', async (t) => {
  const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
  const scanned: { path: string | undefined; headers: IncomingMessage['headersDistinct']; body: string }[] = [];
  const url = await httpServer(t, (req, body, res) => {
    scanned.push({ path: req.url, headers: req.headersDistinct, body: body.toString() });
    const text = body.toString();
    if (text.includes('scanner breaks')) return void res.writeHead(500).end();
    const verdict = text.includes(GTUBE) ? { action: 'reject', score: 1000, messages: { smtp_message: 'Gtube pattern\r\n' } }
      : text.includes('greylist me') ? { action: 'soft reject', score: 5 } : { action: 'no action', score: 0.5 };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
  });
  const home = join(tempDir(t), 'home');
  const ex = await start(t, 'content-check.js', { SCANNER_URL: url, DOMAIN: 'app.test', QMTA_HOME: home });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ex.port, secure: false, ignoreTLS: true });
  const spam = await t.throwsAsync(transport.sendMail({ from: 'spammer@far.test', to: 'postmaster@app.test', subject: 'offer', text: `${GTUBE}\n` }));
  t.regex(String((spam as { response?: string }).response), /^554 5\.7\.1 Gtube pattern$/);
  for (const [body, text] of [['greylist me', 'message deferred by the content scanner, try again later'], ['scanner breaks', 'content scanner unavailable, try again later']]) {
    const replies = await smtplib(ex.port, 'alice@far.test', ['postmaster@app.test'], `Subject: later\r\n\r\n${body}\r\n`);
    t.deepEqual(replies[2], [451, `4.7.1 ${text}`]);
  }
  await transport.sendMail({ from: 'alice@far.test', to: 'postmaster@app.test', subject: 'clean', text: 'hello\n' });
  const { stdout } = await until('the clean message in the maildir', () => run('python3', ['-c', `
import json, mailbox
print(json.dumps([[m['subject'], m.get_payload()] for m in mailbox.Maildir(${JSON.stringify(join(home, 'alias', 'Maildir'))}, create=False)]))
`]).then((r) => r.stdout !== '[]\n' && r));
  t.deepEqual(JSON.parse(stdout), [['clean', 'hello\n']]);
  t.is(scanned.length, 4);
  const last = scanned[3]!;
  t.is(last.path, '/checkv2');
  t.like(last.headers, { ip: ['127.0.0.1'], from: ['alice@far.test'], rcpt: ['postmaster@app.test'], 'content-length': [String(Buffer.byteLength(last.body))] });
  t.regex(last.body, /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n[\s\S]*\nSubject: clean\n/);
});
