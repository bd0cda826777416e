// `qmta start` runs with the daemon's young generation cap (ts/cli/heap.ts): re-executed
// in place with --max-semi-space-size (same pid: the pid file names the process that
// was started), once; an operator's own value in NODE_OPTIONS wins and is not doubled.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heapCapGiven, SEMI_SPACE_MB } from '../../ts/cli/heap.js';
import { QMTA_MAIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';

test('heapCapGiven sees the flag on the command line or in NODE_OPTIONS, in both spellings', (t) => {
  t.true(heapCapGiven(['--max-semi-space-size=4'], undefined));
  t.true(heapCapGiven([], '--inspect  --max-semi-space-size 16'));
  t.false(heapCapGiven(['--max-old-space-size=512'], '--max-semi-space-sizes=2'));
  t.false(heapCapGiven([], undefined));
});

/** Starts qmta on a fresh home with `env`; resolves to its command line once it has written its pid file. */
async function started(t: import('ava').ExecutionContext, env: NodeJS.ProcessEnv): Promise<string[]> {
  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  for (const f of ['smtplisten', 'submissionlisten', 'pop3listen']) writeFileSync(join(home, 'control', f), '127.0.0.1:0\n');
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: 'ignore', env: { ...process.env, ...env } });
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } });
  const pidFile = join(home, 'qmta.pid');
  await until('pid file', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
  t.is(readFileSync(pidFile, 'utf8').trim(), String(child.pid), 'the same process, re-executed in place');
  return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
}

test('qmta start re-executes itself once with the cap', async (t) => {
  t.timeout(60_000);
  const argv = await started(t, { NODE_OPTIONS: '' });
  t.deepEqual(argv.filter((a) => a.startsWith('--max-semi-space-size')), [`--max-semi-space-size=${SEMI_SPACE_MB}`]);
  t.true(argv.includes('start'));
});

test('an operator\'s NODE_OPTIONS value wins', async (t) => {
  t.timeout(60_000);
  const argv = await started(t, { NODE_OPTIONS: '--max-semi-space-size=4' });
  t.deepEqual(argv.filter((a) => a.startsWith('--max-semi-space-size')), []);
});
