// `qmta stats --html`: the page opened in headless Chromium shows the figures of a known
// generated load, four charts drawn, nothing fetched from anywhere; screenshot kept in
// test-artifacts/stats-report.png.

import test from 'ava';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateLog } from '../../bench/stats-load.js';
import { artifactPath, launchChromium } from '../helpers/browser.js';
import { runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';

test('the HTML report shows the known load\'s figures and charts in Chromium, with no external resource', async (t) => {
  const dir = tempDir(t);
  const parts: string[] = [];
  const e = generateLog({ messages: 3000, corruptEvery: 2000 }, (s) => parts.push(s));
  // A reason with markup must come out as text.
  const at = Date.parse('2026-12-01T01:00:00Z');
  parts.push(`${JSON.stringify({ level: 30, time: at, event: 'starting delivery', delivery: 1e9, id: 'x', channel: 'remote', recipient: 'a@d1.example' })}\n`);
  parts.push(`${JSON.stringify({ level: 30, time: at, event: 'delivery', delivery: 1e9, result: 'failure', report: '<b>x</b><script>alert(1)</script>' })}\n`);
  writeFileSync(join(dir, 'qmta.log'), parts.join(''));
  const html = join(dir, 'report.html');
  const r = await runQmta(['stats', '--html', html, join(dir, 'qmta.log')]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.false(/<script|https?:\/\//i.test(readFileSync(html, 'utf8').replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')), 'no script, no external URL');

  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
  const requests: string[] = [];
  page.on('request', (q) => requests.push(q.url()));
  await page.goto(pathToFileURL(html).href);
  const figure = async (k: string) => Number(await page.locator(`[data-figure="${k}"]`).textContent());
  t.is(await figure('messages'), e.messages);
  t.is(await figure('bytes'), e.bytes);
  t.is(await figure('success'), e.success);
  t.is(await figure('failure'), e.failure + 1);
  t.is(await figure('deferral'), e.deferral);
  t.is(await figure('bounces'), e.bounces);
  t.is(await figure('corrupt'), e.corrupt);
  t.is(await figure('delay-avg'), Math.round(e.delaySumMs / e.delayCount) / 1000);
  t.is(await page.locator('svg').count(), 4);
  t.true(await page.locator('svg polyline').count() >= 4, 'the lines are drawn');
  t.is(await page.locator('[data-table="domains"] tr').count(), Object.keys(e.domains).length + 1);
  const d0 = page.locator('[data-table="domains"] tr', { hasText: 'd0.example' }).locator('td');
  t.is(Number(await d0.nth(1).textContent()), e.domains['d0.example']!.attempts);
  t.is(await page.locator('[data-table="failures"] td', { hasText: '<b>x</b><script>alert(1)</script>' }).count(), 1, 'markup shown as text');
  t.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'nothing fetched');
  const shot = artifactPath('stats-report.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.true(statSync(shot).size > 10_000, 'a screenshot with content');
});
