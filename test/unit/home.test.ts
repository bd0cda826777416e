import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../ts/config/index.js';
import { ensureHome, readPidFile, removePidFile, signalRunning, writePidFile } from '../../ts/home/index.js';
import { nodeDotQmailFs, planDelivery } from '../../ts/local/dot-qmail.js';
import { loadAssign } from '../../ts/users/assign.js';
import { tempDir } from '../helpers/home.js';

test('ensureHome creates a working default home', async (t) => {
  const home = join(tempDir(t), 'new-home');
  const r = await ensureHome(home);
  if (r.kind !== 'ok') return t.fail(r.text);
  for (const d of ['control', 'users', 'queue', 'log', 'mail', 'alias/Maildir/new', 'alias/Maildir/cur', 'alias/Maildir/tmp']) {
    t.true(statSync(join(home, d)).isDirectory(), d);
  }
  const host = hostname().toLowerCase();
  t.is(readFileSync(join(home, 'control', 'me'), 'utf8'), `${hostname()}\n`);
  const domains = [...new Set(['localhost', host])].join('\n') + '\n';
  t.is(readFileSync(join(home, 'control', 'locals'), 'utf8'), domains);
  t.is(readFileSync(join(home, 'control', 'rcpthosts'), 'utf8'), domains);
  for (const f of ['.qmail-postmaster', '.qmail-mailer-daemon', '.qmail-root']) {
    t.is(readFileSync(join(home, 'alias', f), 'utf8'), './Maildir/\n');
  }
  t.is(statSync(join(home, 'alias')).mode & 0o022, 0);
  const config = await loadConfig(home);
  t.true(config.kind === 'ok' && config.value.locals.includes('localhost'));
  const users = await loadAssign(home);
  if (users.kind !== 'ok') return t.fail(users.text);
  const alias = { home: join(home, 'alias'), uid: 0, gid: 0 };
  for (const who of ['postmaster', 'Mailer-Daemon', 'root']) {
    const p = planDelivery({ recipient: `${who}@localhost`, sender: 'x@y', users: users.value, alias, now: new Date() },
      nodeDotQmailFs);
    t.like(p, { kind: 'ok', value: { instructions: [{ kind: 'maildir', path: join(home, 'alias', 'Maildir/') }] } }, who);
  }
});

test('ensureHome fills in a partial home and never overwrites', async (t) => {
  const home = tempDir(t);
  const first = await ensureHome(home);
  t.true(first.kind === 'ok' && first.value.length > 10);
  writeFileSync(join(home, 'control', 'me'), 'mine.example\n');
  const again = await ensureHome(home);
  t.deepEqual(again, { kind: 'ok', value: [] });
  t.is(readFileSync(join(home, 'control', 'me'), 'utf8'), 'mine.example\n');
});

test('ensureHome reports what it cannot create', async (t) => {
  const base = tempDir(t);
  writeFileSync(join(base, 'file'), '');
  const r = await ensureHome(join(base, 'file', 'home'));
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') t.regex(r.text, /unable to create .*ENOTDIR/);
});

test('pid file: write, read, refuse a second live qmta, remove only our own', async (t) => {
  const home = tempDir(t);
  t.is(await readPidFile(home), undefined);
  t.is((await writePidFile(home)).kind, 'ok');
  t.is(await readPidFile(home), process.pid);
  t.is((await writePidFile(home)).kind, 'ok', 'rewriting our own pid is fine');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  writeFileSync(join(home, 'qmta.pid'), `${child.pid}\n`);
  const r = await writePidFile(home);
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') t.regex(r.text, /already running/);
  await removePidFile(home);
  t.true(existsSync(join(home, 'qmta.pid')), 'not ours: kept');
  writeFileSync(join(home, 'qmta.pid'), '999999999\n');
  t.is((await writePidFile(home)).kind, 'ok', 'a stale pid is replaced');
  await removePidFile(home);
  t.false(existsSync(join(home, 'qmta.pid')));
});

test('signalRunning sends the signal to a running node process and never to a stranger', async (t) => {
  const home = tempDir(t);
  t.false(await signalRunning(home, 'SIGHUP'), 'no pid file');
  const child = spawn(process.execPath,
    ['-e', 'process.on("SIGHUP", () => { console.log("reload"); process.exit(0) }); console.log("up"); setTimeout(() => {}, 30000)'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await once(child.stdout!, 'data');
  writeFileSync(join(home, 'qmta.pid'), `${child.pid}\n`);
  const out = once(child.stdout!, 'data');
  t.true(await signalRunning(home, 'SIGHUP'));
  t.is(String((await out)[0]).trim(), 'reload');
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  writeFileSync(join(home, 'qmta.pid'), `${sleeper.pid}\n`);
  t.false(await signalRunning(home, 'SIGHUP'), 'a reused pid of another program is left alone');
  t.is(sleeper.exitCode, null);
  writeFileSync(join(home, 'qmta.pid'), 'garbage\n');
  t.false(await signalRunning(home, 'SIGHUP'));
});
