// `qmta start` as a real process: default home on first start, pid file, SIGHUP reload of
// users/ (through `qmta user add`), `qmta queue` / `queue stat` / `queue run` (SIGALRM),
// SIGTERM exit 0 within 30 s.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const run = promisify(execFile);

/** Only the listeners' control files exist: the rest of the home is created by the first start. */
function listenAnywhere(home: string): void {
  mkdirSync(join(home, 'control'), { recursive: true });
  for (const f of ['smtplisten', 'submissionlisten', 'pop3listen']) writeFileSync(join(home, 'control', f), '127.0.0.1:0\n');
}

function qmta(home: string, ...args: string[]) {
  return run(process.execPath, [MAIN, '--home', home, ...args]);
}

test('qmta start: default home, reload on user add, queue listing, queue run, clean SIGTERM', async (t) => {
  t.timeout(120_000);
  const home = join(tempDir(t), 'new-home');
  listenAnywhere(home);
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  await until('pid file', () => existsSync(join(home, 'qmta.pid')));
  t.is(readFileSync(join(home, 'qmta.pid'), 'utf8').trim(), String(child.pid));
  t.true(existsSync(join(home, 'control', 'me')));
  await until('log', () => existsSync(join(home, 'log', 'qmta.log')) && readFileSync(join(home, 'log', 'qmta.log'), 'utf8').includes('"status"'));

  // A user added while qmta runs is known to it once the SIGHUP's reload is done (logged).
  const log = () => readFileSync(join(home, 'log', 'qmta.log'), 'utf8');
  const reloads = () => log().split('"event":"reload"').length - 1;
  const before = reloads();
  await qmta(home, 'user', 'add', 'joe');
  await until('the reload after user add', () => reloads() > before);
  const q = queueWriter(t, home);
  const add = (to: string) => q.add({ sender: 'a@far.example', recipients: [to] }, Buffer.from('Subject: d\n\nhello\n'));
  t.is((await add('joe@localhost')).kind, 'ok');
  const maildir = join(home, 'mail', 'joe', 'Maildir', 'new');
  await until('delivery to joe', () => readdirSync(maildir).length === 1);

  // A deferred message shows in `qmta queue` and `queue stat`, and `queue run` retries it now.
  writeFileSync(join(home, 'mail', 'joe', '.qmail-later'), '|echo not yet; exit 111\n');
  const id = await add('joe-later@localhost');
  t.is(id.kind, 'ok');
  await until('deferral', () => log().includes('"result":"deferral"'));
  const listing = (await qmta(home, 'queue')).stdout;
  t.regex(listing, new RegExp(`^\\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT  #${id.kind === 'ok' ? id.value : ''}  \\d+  <a@far\\.example> \\n\\tlocal\\tjoe-later@localhost\\n$`));
  t.is((await qmta(home, 'queue', 'stat')).stdout, 'messages in queue: 1\nmessages in queue but not yet preprocessed: 0\n');
  writeFileSync(join(home, 'mail', 'joe', '.qmail-later'), './Maildir/\n');
  await qmta(home, 'queue', 'run');
  await until('retry after queue run', () => readdirSync(maildir).length === 2, 15_000);
  await until('SIGALRM logged (the log is written in batches, at most a second late)', () => log().includes('SIGALRM'), 5_000);

  const stopAt = Date.now();
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.true(Date.now() - stopAt < 30_000);
  t.false(existsSync(join(home, 'qmta.pid')));
  t.true(log().includes('status: exiting'));
});

test('qmta queue run without a running qmta fails temporarily (111)', async (t) => {
  const home = join(tempDir(t), 'h');
  const err = await qmta(home, 'queue', 'run').then(() => undefined, (e: { code: number; stderr: string }) => e);
  t.is(err?.code, 111);
  t.regex(err?.stderr ?? '', /no qmta is running/);
});
