// A running `qmta start`: SIGUSR1 reopens the log after logrotate's rename, and `qmta stats`
// reads the daemon's real log lines across the rotated and the new file.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../ts/stats/report.js';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until } from '../helpers/wait.js';

test('SIGUSR1 reopens the log; qmta stats counts the deliveries logged in both files', async (t) => {
  t.timeout(120_000);
  const home = join(tempDir(t), 'h');
  mkdirSync(join(home, 'control'), { recursive: true });
  for (const f of ['smtplisten', 'submissionlisten', 'pop3listen']) writeFileSync(join(home, 'control', f), '127.0.0.1:0\n');
  t.is((await runQmta(['--home', home, 'user', 'add', 'joe'])).code, 0);
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const logFile = join(home, 'log', 'qmta.log');
  await until('running', () => existsSync(join(home, 'qmta.pid')) && existsSync(logFile));
  // Written as the queue's owner: a daemon started as root runs as the qmta account.
  const q = queueWriter(t, home);
  const maildir = join(home, 'mail', 'joe', 'Maildir', 'new');
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) t.is((await q.add({ sender: 'a@far.example', recipients: ['joe@localhost'] }, Buffer.from('Subject: s\n\nhi\n'))).kind, 'ok');
  };
  await send(3);
  await until('3 delivered', () => readdirSync(maildir).length === 3);
  await until('their end msg lines written', () => (readFileSync(logFile, 'utf8').match(/"end msg"/g) ?? []).length === 3, 10_000);
  renameSync(logFile, join(home, 'log', 'qmta.log.1'));
  child.kill('SIGUSR1');
  await until('a new file with the SIGUSR1 line', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('SIGUSR1'), 10_000);
  await send(2);
  await until('5 delivered', () => readdirSync(maildir).length === 5);
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.false(readFileSync(join(home, 'log', 'qmta.log.1'), 'utf8').includes('SIGUSR1'), 'the rotated file was closed');

  const r = await runQmta(['--home', home, 'stats', '--json']);
  t.is(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  t.is(rep.overall.messages, 5);
  t.is(rep.overall.completed, 5);
  t.deepEqual(rep.overall.deliveries, { success: 5, failure: 0, deferral: 0 });
  t.is(rep.overall.bytes, 5 * 'Subject: s\n\nhi\n'.length);
  t.deepEqual(rep.domains.rows.map((d) => [d.key, d.success]), [['localhost', 5]]);
  t.is(rep.input.corrupt + rep.input.foreign, 0);
});
