// `qmta stats` against a generated log of known shape (bench/stats-load.ts): every figure
// checked exactly, across rotated and gzip'd files, from stdin, in a time window, and the
// bad inputs (corrupt, foreign, truncated gzip, overlong lines, empty and missing logs).

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateLog, STEP_MS, T0, type Expected } from '../../bench/stats-load.js';
import type { Report } from '../../ts/stats/report.js';
import { runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';

function load(messages: number, corruptEvery = 5000): { text: string; e: Expected } {
  const parts: string[] = [];
  const e = generateLog({ messages, corruptEvery }, (s) => parts.push(s));
  return { text: parts.join(''), e };
}

async function stats(args: string[], input?: string): Promise<Report> {
  const r = await runQmta(['stats', '--json', '--top', '50', ...args], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

/** Every figure the generator counted, against the report. */
function checkAll(t: import('ava').ExecutionContext, r: Report, e: Expected): void {
  t.is(r.input.lines, e.lines);
  t.is(r.input.corrupt, e.corrupt);
  t.is(r.input.foreign, e.foreign);
  t.is(r.input.records, e.lines - e.corrupt - e.foreign);
  const o = r.overall;
  t.deepEqual(
    [o.messages, o.bytes, o.completed, o.attempts, o.deliveries.success, o.deliveries.failure, o.deliveries.deferral, o.successBytes],
    [e.messages, e.bytes, e.completed, e.attempts, e.success, e.failure, e.deferral, e.successBytes]);
  t.deepEqual([o.bounces, o.doubleBounces, o.tripleBounces], [e.bounces, e.doubleBounces, e.tripleBounces]);
  t.is(o.delay.count, e.delayCount);
  t.is(o.delay.avg, Math.round(e.delaySumMs / e.delayCount) / 1000);
  t.true(r.domains.exact);
  t.is(r.domains.rows.length, Object.keys(e.domains).length);
  for (const d of r.domains.rows) {
    t.deepEqual({ attempts: d.attempts, success: d.success, failure: d.failure, deferral: d.deferral, bytes: d.bytes }, e.domains[d.key], d.key);
  }
  for (const s of r.senders.rows) t.deepEqual({ messages: s.messages, bytes: s.bytes }, e.senders[s.key], s.key);
  t.is(r.smtp.sessions.smtp, e.smtpSessions);
  t.deepEqual(r.smtp.replies, e.smtpReplies);
  t.is(r.failures.rows[0]!.count, e.failure);
  t.is(r.deferrals.rows[0]!.count, e.deferral);
}

test('a known load: every count, byte, delay and per-domain row is exact', async (t) => {
  const dir = tempDir(t);
  const { text, e } = load(6_000);
  writeFileSync(join(dir, 'one.log'), text);
  const r = await stats([join(dir, 'one.log')]);
  checkAll(t, r, e);
  t.true(e.doubleBounces > 0 && e.tripleBounces > 0 && e.corrupt > 0, 'the load has every kind of line');
});

test('the home\'s logs are read across rotations (gzip and plain, any names) in time order, and from stdin', async (t) => {
  const home = tempDir(t);
  const log = join(home, 'log');
  mkdirSync(log);
  const { text, e } = load(4_000);
  const lines = text.split('\n').slice(0, -1);
  const third = Math.floor(lines.length / 3);
  const part = (a: number, b: number) => lines.slice(a, b).join('\n') + '\n';
  // Names that sort the wrong way: the order comes from each file's first record.
  writeFileSync(join(log, 'qmta.log.9.gz'), gzipSync(part(0, third)));
  writeFileSync(join(log, 'qmta.log.20991231T000000Z'), part(third, 2 * third));
  writeFileSync(join(log, 'qmta.log'), part(2 * third, lines.length));
  checkAll(t, await stats(['--home', home]), e);
  checkAll(t, await stats(['-'], text), e);
});

test('--since/--until count only the records inside the window', async (t) => {
  const dir = tempDir(t);
  const { text } = load(3_000);
  writeFileSync(join(dir, 'w.log'), text);
  const since = new Date(T0 + 1000 * STEP_MS).toISOString();
  const until = new Date(T0 + 2000 * STEP_MS).toISOString();
  const r = await stats(['--since', since, '--until', until, join(dir, 'w.log')]);
  t.is(r.overall.messages, 1000);
  t.true(r.input.outside > 0);
  t.true(r.span.first! >= T0 + 1000 * STEP_MS && r.span.last! < T0 + 2000 * STEP_MS);
});

test('a truncated gzip file is reported, the lines before the cut still count, the next file is read', async (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, 'log'));
  const a = load(2_000);
  const gz = gzipSync(a.text);
  writeFileSync(join(home, 'log', 'qmta.log.1.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
  const r = await runQmta(['--home', home, 'stats']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Unreadable: .*qmta\.log\.1\.gz: unexpected end of file/);
  const n = Number(/Input: (\d+) lines/.exec(r.stdout)![1]);
  t.true(n > 100 && n < a.e.lines, `${n} lines read before the cut`);
});

test('corrupt, foreign and overlong lines are counted and skipped; the text report says how many', async (t) => {
  const dir = tempDir(t);
  const { text, e } = load(1_000, 1_000_000);
  const bad = ['{"level":30,"time":1,"event":"delivery","delivery":"x","result":"success","msg":""}', 'not json', '[1,2]', 'x'.repeat((1 << 20) + 10)];
  writeFileSync(join(dir, 'b.log'), text + bad.join('\n') + '\n');
  const r = await runQmta(['stats', join(dir, 'b.log')]);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith(`Input: ${e.lines + 3} lines, ${e.lines + 1} records, 2 corrupt, 1 foreign, 1 overlong`), r.stdout.split('\n')[0]);
  t.is(r.stderr, '', 'nothing extra on a pipe');
});

test('empty, missing and all-garbage logs: a clear message and exit 100', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'empty.log'), '');
  writeFileSync(join(dir, 'junk.log'), 'junk\n{"a":1}\n');
  const empty = await runQmta(['stats', join(dir, 'empty.log')]);
  t.is(empty.code, 100);
  t.regex(empty.stderr, /no qmta log records in .*empty\.log \(0 lines/);
  const missing = await runQmta(['--home', join(dir, 'nohome'), 'stats']);
  t.is(missing.code, 100);
  t.regex(missing.stderr, /no log files in .*nohome\/log/);
  const nofile = await runQmta(['stats', join(dir, 'absent.log')]);
  t.is(nofile.code, 100);
  t.regex(nofile.stderr, /absent\.log: ENOENT/);
  const junk = await runQmta(['stats', join(dir, 'junk.log')]);
  t.is(junk.code, 100);
  t.regex(junk.stderr, /2 lines: 1 corrupt, 1 foreign/);
  const usage = await runQmta(['stats', '--since', 'yesterday-ish', join(dir, 'junk.log')]);
  t.is(usage.code, 100);
});
