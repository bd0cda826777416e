// The custom local delivery target end to end: createMta({ store }) with its SMTP
// listener, real clients (nodemailer, Python's smtplib), the real queue and scheduler.
// One call per claimed recipient with the envelope and the queued bytes; unclaimed local
// recipients still go to their maildir; refusals bounce with the store's text, deferrals
// and time-outs are retried, malformed results deferred; a crash after the store kept a
// copy calls it again with the same id and recipient (at-least-once). Over SMTP a claimed
// recipient is known at RCPT without a users/assign entry (rcptcheck stays on).

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { createMta, type DeliveryEvent, type LocalStore, type Mta, type StoreDelivery } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

// Async: the MTA runs in this process, a synchronous child would block it.
const run = promisify(execFile);

const CONTROL = { me: 'mx.app.test', locals: ['app.test', 'mx.app.test'], rcpthosts: ['app.test', 'mx.app.test'] };

interface Call { readonly id: string; readonly sender: string; readonly recipient: string; readonly size: number; readonly bytes: string }

async function record(calls: Call[], d: StoreDelivery): Promise<void> {
  calls.push({ id: d.id, sender: d.sender, recipient: d.recipient, size: d.size, bytes: await text(d.message) });
}

async function startMta(t: ExecutionContext, store: LocalStore, home = join(tempDir(t), 'home')): Promise<{ mta: Mta; port: number; home: string; events: string[] }> {
  const port = await freePort();
  const mta = await createMta({
    home, log: false, listen: true, store,
    control: { ...CONTROL, smtplisten: [`127.0.0.1:${port}`], submissionlisten: [], pop3listen: [] },
  });
  t.teardown(() => mta.stop(1000));
  const events: string[] = [];
  for (const e of ['delivered', 'deferred', 'failed'] as const) mta.on(e, (x: DeliveryEvent) => events.push(`${e} ${x.recipient}: ${x.report}`));
  await mta.start();
  return { mta, port, home, events };
}

const appOnly = (a: string): boolean => a.endsWith('@app.test');

function maildirFiles(home: string): string[] {
  const dir = join(home, 'alias', 'Maildir', 'new');
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
}

test('nodemailer: each claimed recipient is one call with the envelope and the queued bytes; postmaster still gets a maildir copy', async (t) => {
  const calls: Call[] = [];
  const { mta, port, home, events } = await startMta(t, { recipients: appOnly, deliver: (d) => record(calls, d) });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  await transport.sendMail({
    envelope: { from: 'alice@far.test', to: ['joe@app.test', 'ann@app.test', 'postmaster@mx.app.test'] },
    from: 'alice@far.test', to: 'joe@app.test', subject: 'to the store', text: 'hello\n.dotted line\n',
  });
  await until('three deliveries', () => events.length >= 3);
  await mta.idle();
  t.deepEqual(calls.map((c) => [c.recipient, c.sender]).sort(), [['ann@app.test', 'alice@far.test'], ['joe@app.test', 'alice@far.test']]);
  t.is(calls[0]!.id, calls[1]!.id);
  for (const c of calls) {
    t.regex(c.bytes, /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n  by mx\.app\.test \(qmta\) with ESMTP; /);
    t.true(c.bytes.endsWith('\n\nhello\n.dotted line\n'), c.bytes);
    t.false(c.bytes.includes('\r'));
    t.is(c.size, Buffer.byteLength(c.bytes));
  }
  t.true(events.every((e) => e.startsWith('delivered ')), events.join('\n'));
  const [copy] = maildirFiles(home);
  t.regex(copy!, /^Return-Path: <alice@far\.test>\nDelivered-To: postmaster@mx\.app\.test\n/);
});

test('smtplib: per-recipient results; a refusal bounces with the store\'s text, a deferral is retried with the same id', async (t) => {
  const calls: Call[] = [];
  const store: LocalStore = {
    recipients: appOnly,
    async deliver(d) {
      await record(calls, d);
      if (d.recipient === 'gone@app.test') return { action: 'refuse', status: '5.1.1', text: 'No such user in the app.' };
      if (d.recipient === 'busy@app.test' && calls.filter((c) => c.recipient === d.recipient).length === 1) return { action: 'defer', status: '4.2.1', text: 'App busy.' };
      return `row ${calls.length}`;
    },
  };
  const { mta, port, home, events } = await startMta(t, store);
  await run('python3', ['-c', `
import smtplib
c = smtplib.SMTP('127.0.0.1', ${port})
c.sendmail('postmaster@mx.app.test', ['joe@app.test', 'gone@app.test', 'busy@app.test'], b'Subject: results\\r\\n\\r\\nbody\\r\\n')
c.quit()
`], { timeout: 30_000 });
  await until('first pass', () => events.length >= 3);
  t.true(events.includes('failed gone@app.test: No such user in the app. (#5.1.1)'), events.join('\n'));
  t.true(events.includes('deferred busy@app.test: App busy. (#4.2.1)'), events.join('\n'));
  t.true(events.some((e) => /^delivered joe@app\.test: row \d$/.test(e)), events.join('\n'));
  t.deepEqual(readdirSync(join(home, 'alias', 'Maildir', 'new')), [], 'no bounce while a recipient is deferred');
  await mta.idle(); // the retry time is persisted: runQueue() makes it due now
  mta.runQueue();
  await until('the retry', () => events.length >= 4);
  t.regex(events[3]!, /^delivered busy@app\.test: row 4$/);
  const busy = calls.filter((c) => c.recipient === 'busy@app.test');
  t.is(busy.length, 2);
  t.is(busy[0]!.id, busy[1]!.id);
  t.is(busy[0]!.bytes, busy[1]!.bytes);
  const bounce = await until('the bounce', () => maildirFiles(home)[0]);
  t.true(bounce.includes('<gone@app.test>:\nNo such user in the app. (#5.1.1)\n'), bounce);
  t.false(bounce.includes('<busy@app.test>'));
});

test('a store that never answers is deferred at its time limit; a malformed answer is deferred, not bounced', async (t) => {
  let n = 0;
  let aborted: AbortSignal | undefined;
  const store: LocalStore = {
    timeoutMs: 300,
    deliver(d) {
      n++;
      if (n === 1) { aborted = d.signal; return new Promise(() => {}); }
      if (n === 2) return { action: 'refuse', status: '2.0.0', text: 'fine' } as never;
      return undefined;
    },
  };
  const { mta, events } = await startMta(t, store);
  await mta.inject({ from: 'a@far.test', to: ['joe@app.test'], message: Buffer.from('Subject: slow\n\nx\n') });
  await until('the time-out', () => events.length >= 1);
  t.is(events[0], 'deferred joe@app.test: the store gave no answer within 300 ms; will retry (#4.3.0)');
  t.true(aborted?.aborted);
  await mta.idle(); // the retry time is persisted: runQueue() makes it due now
  mta.runQueue();
  await until('the malformed answer', () => events.length >= 2);
  t.is(events[1], 'deferred joe@app.test: the store returned a malformed result (status "2.0.0" for refuse); will retry (#4.3.0)');
  await mta.idle(); // the retry time is persisted: runQueue() makes it due now
  mta.runQueue();
  await until('the delivery', () => events.length >= 3);
  t.is(events[2], 'delivered joe@app.test: stored by the application');
});

test('at-least-once: killed after the store kept the copy, the next start calls it again with the same id and recipient', async (t) => {
  const home = join(tempDir(t), 'home');
  const kept = join(home, '..', 'kept');
  const index = pathToFileURL(fileURLToPath(new URL('../../ts/index.js', import.meta.url))).href;
  // A file, not -e with --input-type: worker threads inherit execArgv, and refuse that flag.
  const script = join(home, '..', 'crash.mjs');
  writeFileSync(script, `
import { appendFileSync } from 'node:fs';
const { createMta } = await import(${JSON.stringify(index)});
const mta = await createMta({ home: ${JSON.stringify(home)}, control: ${JSON.stringify(CONTROL)}, log: false, store: { async deliver(d) {
  appendFileSync(${JSON.stringify(kept)}, d.id + ' ' + d.recipient + '\\n');
  process.kill(process.pid, 'SIGKILL');
} } });
setInterval(() => {}, 60_000); // held until the store kills the process
await mta.start();
await mta.inject({ from: 'a@far.test', to: ['joe@app.test'], message: Buffer.from('Subject: crash\\n\\nx\\n') });
`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, sig) => resolve([c, sig])));
  t.is(signal, 'SIGKILL', `exit ${code}: ${stderr}`);
  const first = readFileSync(kept, 'utf8').trim();
  const calls: Call[] = [];
  const { mta, events } = await startMta(t, { deliver: (d) => record(calls, d) }, home);
  await until('the second delivery', () => events.length >= 1);
  await mta.idle();
  t.is(`${calls[0]!.id} ${calls[0]!.recipient}`, first);
  t.is(events[0], 'delivered joe@app.test: stored by the application');
  t.true(calls[0]!.bytes.endsWith('Subject: crash\n\nx\n'));
});
