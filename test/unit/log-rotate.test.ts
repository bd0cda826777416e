// Log rotation: by size (every line kept exactly once across the files, at most `keep`
// rotated files), on reopen (logrotate's rename + SIGUSR1), close right after a reopen asked
// while a write was in flight, and the files read back by `qmta stats` in order.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../ts/log/index.js';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';

function allLines(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l !== ''));
}

test('size rotation: files stay near the limit, no line is lost, split or doubled, old ones pruned', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'qmta.log');
  const log = createLogger({ file, rotate: { maxBytes: () => 20_000, keep: () => 3, checkMs: 20 } });
  const N = 3000;
  for (let i = 0; i < N; i++) {
    log.info({ event: 'test', n: i }, `line ${i}`);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 25));
  }
  await log.close();
  const names = readdirSync(dir);
  const rotated = names.filter((n) => /^qmta\.log\.\d{8}T\d{6}Z(-\d+)?$/.test(n));
  t.is(rotated.length, 3, names.join(' '));
  const lines = allLines(dir).map((l) => JSON.parse(l) as { n: number });
  const seen = new Set(lines.map((l) => l.n));
  t.is(seen.size, lines.length, 'no line twice');
  // The files kept hold the newest lines, each a whole record, in one unbroken run.
  const ns = [...seen].sort((a, b) => a - b);
  t.is(ns.at(-1), N - 1);
  t.is(ns.length, ns.at(-1)! - ns[0]! + 1, 'a contiguous run up to the last line');
  t.true(ns.length < N, 'older files were pruned');
});

test('reopen: after logrotate renames the file, lines go to a new file at the same path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'qmta.log');
  const log = createLogger({ file });
  log.info({ n: 1 }, 'before');
  await until('first line on disk', () => existsSync(file) && (log.flush(), readFileSync(file, 'utf8').includes('before')));
  renameSync(file, join(dir, 'qmta.log.1'));
  log.reopen();
  log.info({ n: 2 }, 'after');
  await log.close();
  t.regex(readFileSync(join(dir, 'qmta.log.1'), 'utf8'), /before/);
  t.notRegex(readFileSync(join(dir, 'qmta.log.1'), 'utf8'), /after/);
  t.regex(readFileSync(file, 'utf8'), /after/);
});

/** In a process of its own, whose event loop holds nothing else: a close left waiting ends
 *  it with Node's unsettled top-level await (exit 13), as it would hold a daemon's shutdown. */
const CLOSE_AFTER_REOPEN = `
import { existsSync, readFileSync } from 'node:fs';
const { createLogger } = await import(process.argv[1]);
const file = process.argv[2];
const log = createLogger({ file });
log.info({ n: -1 }, 'first');
// The file open and idle: the first line written out.
while (!existsSync(file) || !readFileSync(file, 'utf8').includes('first')) {
  log.flush();
  await new Promise((r) => setTimeout(r, 5));
}
// Past the 32 KiB batch: a write is in flight when reopen() and close() come.
for (let i = 0; i < 2000; i++) log.info({ n: i }, 'line ' + 'x'.repeat(40));
log.reopen();
await log.close();
console.log('closed');
`;

test('close right after a reopen asked during a write: close resolves and every line is kept', async (t) => {
  const dir = tempDir(t);
  const logger = new URL('../../ts/log/index.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLOSE_AFTER_REOPEN, logger, join(dir, 'qmta.log')], { timeout: 30_000 });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise((done) => child.once('close', done));
  t.is(stdout.trim(), 'closed', `exit ${String(code)}: ${stderr}`);
  t.is(allLines(dir).length, 2001);
});
