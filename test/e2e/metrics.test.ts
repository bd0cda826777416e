// The metrics listener of a running `qmta start`: /metrics after a known load, parsed by
// Python's prometheus_client (Debian's), with exact counts; the status page in Chromium
// showing the same numbers (screenshot in test-artifacts/status-page.png); and the bounded
// HTTP surface (404, 405, 413, connection limit).

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { artifactPath, launchChromium } from '../helpers/browser.js';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { freePort } from '../helpers/net.js';
import { parsePrometheus as parse, type Sample } from '../helpers/prom.js';
import { until } from '../helpers/wait.js';


function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v));
  if (hits.length === 0) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return hits.reduce((a, [, , v]) => a + v, 0);
}

/** A raw HTTP exchange: the status line of the answer. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(request));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
}

test('/metrics after a known load, the status page, and the bounded HTTP surface', async (t) => {
  t.timeout(180_000);
  const home = join(tempDir(t), 'h');
  const port = await freePort();
  mkdirSync(join(home, 'control'), { recursive: true });
  for (const f of ['smtplisten', 'submissionlisten', 'pop3listen']) writeFileSync(join(home, 'control', f), '127.0.0.1:0\n');
  writeFileSync(join(home, 'control', 'metricslisten'), `127.0.0.1:${port}\n`);
  t.is((await runQmta(['--home', home, 'user', 'add', 'joe'])).code, 0);
  writeFileSync(join(home, 'mail', 'joe', '.qmail-fail'), '|exit 100\n');
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  await until('metrics listening', async () => existsSync(join(home, 'qmta.pid')) && (await fetch(`${base}/metrics`).then((r) => r.ok, () => false)));

  // The load: 5 delivered; 2 bounces (null sender) that fail, so 2 double bounces to the
  // postmaster (delivered); 1 failing double bounce (#@[]): a triple bounce.
  // Written as the queue's owner: a daemon started as root runs as the qmta account.
  const q = queueWriter(t, home);
  const body = Buffer.from('Subject: m\n\nhello\n');
  const add = async (sender: string, to: string) => t.is((await q.add({ sender, recipients: [to] }, body)).kind, 'ok');
  for (let i = 0; i < 5; i++) await add('a@far.example', 'joe@localhost');
  for (let i = 0; i < 2; i++) await add('', 'joe-fail@localhost');
  await add('#@[]', 'joe-fail@localhost');
  const scrape = async () => parse(await (await fetch(`${base}/metrics`)).text());
  await until('10 messages completed', async () => value(await scrape(), 'qmta_messages_completed_total') === 10, 60_000);
  const s = await scrape();
  t.is(value(s, 'qmta_deliveries_total', { channel: 'local', result: 'success' }), 7);
  t.is(value(s, 'qmta_deliveries_total', { channel: 'local', result: 'failure' }), 3);
  t.is(value(s, 'qmta_deliveries_total', { result: 'deferral' }), 0);
  t.is(value(s, 'qmta_deliveries_total', { channel: 'remote' }), 0);
  t.is(value(s, 'qmta_messages_queued_total'), 10);
  t.is(value(s, 'qmta_bounces_total'), 2);
  t.is(value(s, 'qmta_double_bounces_total'), 2);
  t.is(value(s, 'qmta_triple_bounces_total'), 1);
  t.is(value(s, 'qmta_delivery_delay_seconds_count'), 10);
  t.is(value(s, 'qmta_delivery_attempt_seconds_count'), 10);
  t.is(value(s, 'qmta_queue_time_seconds_count'), 10);
  t.true(value(s, 'qmta_delivered_bytes_total', { channel: 'local' }) >= 5 * body.length);
  for (const state of ['todo', 'local', 'remote', 'deferred']) t.is(value(s, 'qmta_queue_messages', { state }), 0, state);
  t.is(value(s, 'qmta_concurrency_limit', { channel: 'local' }), 10);
  t.is(readdirSync(join(home, 'mail', 'joe', 'Maildir', 'new')).length, 5);

  // The status page shows the same numbers.
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  const outside: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-loaded]', { timeout: 20_000 });
  const figure = async (k: string) => Number(await page.locator(`[data-figure="${k}"]`).textContent());
  t.is(await figure('success'), value(s, 'qmta_deliveries_total', { result: 'success' }));
  t.is(await figure('failure'), value(s, 'qmta_deliveries_total', { result: 'failure' }));
  t.is(await figure('queued'), value(s, 'qmta_messages_queued_total'));
  t.is(await figure('bounces'), value(s, 'qmta_bounces_total'));
  t.is(await figure('queue-remote'), 0);
  t.is(await page.locator('[data-table="deliveries"] tr').count(), 11, 'header + the 10 deliveries');
  t.is(await page.locator('[data-table="failures"] tr').count(), 4, 'header + the 3 failures');
  t.true(await page.locator('#rates svg polyline').count() === 4);
  t.deepEqual(outside, [], 'no external resource');
  await page.screenshot({ path: artifactPath('status-page.png'), fullPage: true });

  // Bad requests cost nothing and get their codes.
  t.is((await fetch(`${base}/nope`)).status, 404);
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.is(post.status, 413, 'a body is refused before the method');
  const del = await fetch(`${base}/metrics`, { method: 'DELETE' });
  t.is(del.status, 405);
  t.is(del.headers.get('allow'), 'GET, HEAD');
  t.is((await fetch(`${base}/${'a'.repeat(2000)}`)).status, 413);
  t.regex(await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(10_000)}\r\n\r\n`), /^HTTP\/1\.1 413/);
  t.regex(await raw(port, 'NONSENSE\r\n\r\n'), /^HTTP\/1\.1 400/);
  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');

  // Connections past the limit are closed at once; the listener still answers afterwards.
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 24; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.on('close', () => closed++);
    sockets.push(c);
  }
  await until('sockets past the limit closed', () => closed >= 24 - 16, 10_000);
  for (const c of sockets) c.destroy();
  await until('answers again', async () => (await fetch(`${base}/metrics`).then((r) => r.status, () => 0)) === 200, 10_000);
  child.kill('SIGTERM');
});
