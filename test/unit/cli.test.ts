import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyPassword } from '../../ts/users/passwd.js';
import { defaultOwner, tempDir } from '../helpers/home.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function qmta(args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const env = { ...process.env, QMTA_HOME: undefined, ...opts.env };
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

test('the command file starts with the node shebang', (t) => {
  t.true(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
});

test('user add creates a missing home and the user; list shows it; del removes it', async (t) => {
  const home = join(tempDir(t), 'h');
  const add = await qmta(['--home', home, 'user', 'add', 'alice']);
  t.is(add.code, 0, add.stderr);
  t.is(add.stdout, `added alice: ${join(home, 'mail', 'alice')}\n`);
  t.true(existsSync(join(home, 'control', 'me')), 'default home created');
  t.true(existsSync(join(home, 'mail', 'alice', 'Maildir', 'new')));
  const custom = join(home, 'custom-bob');
  t.is((await qmta(['user', 'add', 'bob', '--home-dir', custom, '--uid', '1234', '--gid', '99', '--home', home])).code, 0);
  const list = await qmta(['--home', home, 'user', 'list']);
  t.is(list.code, 0);
  const own = (await defaultOwner());
  t.is(list.stdout, `alice\t${own.uid}\t${own.gid}\t${join(home, 'mail', 'alice')}\t-\nbob\t1234\t99\t${custom}\t-\n`);
  const del = await qmta(['--home', home, 'user', 'del', 'alice']);
  t.is(del.code, 0);
  t.is((await qmta(['--home', home, 'user', 'list'])).stdout.split('\n')[0]?.split('\t')[0], 'bob');
});

test('user passwd reads the password from stdin; --apop sets the APOP secret', async (t) => {
  const home = join(tempDir(t), 'h');
  await qmta(['--home', home, 'user', 'add', 'carol']);
  const pw = await qmta(['--home', home, 'user', 'passwd', 'carol'], { input: 'open sesame\nignored\n' });
  t.is(pw.code, 0, pw.stderr);
  t.true(await verifyPassword(home, 'carol', 'open sesame'));
  t.false(await verifyPassword(home, 'carol', 'ignored'));
  const apop = await qmta(['--home', home, 'user', 'passwd', 'carol', '--apop'], { input: 'apop-secret' });
  t.is(apop.code, 0, apop.stderr);
  t.is(readFileSync(join(home, 'users', 'apop'), 'utf8'), 'carol:apop-secret\n');
  t.is((await qmta(['--home', home, 'user', 'list'])).stdout.trim().split('\t')[4], 'password,apop');
});

test('$QMTA_HOME, then ./qmta-home, choose the home when --home is absent', async (t) => {
  const dir = tempDir(t);
  const viaEnv = join(dir, 'env-home');
  t.is((await qmta(['user', 'add', 'dan'], { env: { QMTA_HOME: viaEnv } })).code, 0);
  t.true(existsSync(join(viaEnv, 'users', 'assign')));
  t.is((await qmta(['user', 'add', 'eve'], { cwd: dir })).code, 0);
  t.true(existsSync(join(dir, 'qmta-home', 'mail', 'eve')));
});

test('permanent failures and usage errors exit 100', async (t) => {
  const home = join(tempDir(t), 'h');
  const bad = await qmta(['--home', home, 'user', 'add', 'Not-Lowercase']);
  t.is(bad.code, 100);
  t.regex(bad.stderr, /^qmta: bad user name .*\(#5\.1\.3\)\n$/);
  t.is((await qmta(['--home', home, 'user', 'del', 'nobody'])).code, 100);
  t.is((await qmta(['--home', home, 'user', 'passwd', 'nobody'], { input: 'x\n' })).code, 100);
  await qmta(['--home', home, 'user', 'add', 'fay']);
  t.is((await qmta(['--home', home, 'user', 'add', 'fay'])).code, 100, 'already exists');
  t.is((await qmta(['--home', home, 'user', 'passwd', 'fay'], { input: '\n' })).code, 100, 'empty password');
  t.is((await qmta(['--home', home, 'user', 'passwd', 'fay'], { input: 'x'.repeat(5000) })).code, 100, 'oversized');
  t.is((await qmta(['--home', home, 'no-such-command'])).code, 100);
  t.is((await qmta(['--home', home, 'user', 'add'])).code, 100, 'missing argument');
  t.is((await qmta(['--home', home, 'user', 'add', 'gus', '--uid', 'root'])).code, 100);
  const root = await qmta(['--home', home, 'user', 'add', 'gus', '--uid', '0', '--gid', '0']);
  t.is(root.code, 100, 'uid 0 is never assigned');
  t.regex(root.stderr, /never delivers as root \(qmail-lspawn's rule\) \(#5\.7\.0\)/);
});

test('temporary failures exit 111', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), '');
  const r = await qmta(['--home', join(dir, 'file', 'home'), 'user', 'add', 'hal']);
  t.is(r.code, 111);
  t.regex(r.stderr, /#4\.3\.0/);
  const home = join(dir, 'h');
  mkdirSync(join(home, 'users'), { recursive: true });
  writeFileSync(join(home, 'users', 'assign'), '=broken\n.\n');
  t.is((await qmta(['--home', home, 'user', 'list'])).code, 111);
});

test('--help and --version exit 0 and describe the commands', async (t) => {
  const help = await qmta(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--home <dir>/);
  t.regex(help.stdout, /user/);
  const userHelp = await qmta(['user', '--help']);
  t.is(userHelp.code, 0);
  for (const sub of ['add', 'del', 'list', 'passwd']) t.regex(userHelp.stdout, new RegExp(`\\b${sub}\\b`));
  const v = await qmta(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('user commands make a running qmta of the home reload (SIGHUP)', async (t) => {
  const home = join(tempDir(t), 'h');
  mkdirSync(home);
  const daemon = spawn(process.execPath,
    ['-e', 'process.on("SIGHUP", () => console.log("reload")); console.log("up"); setTimeout(() => {}, 30000)'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => daemon.kill('SIGKILL'));
  await once(daemon.stdout!, 'data');
  writeFileSync(join(home, 'qmta.pid'), `${daemon.pid}\n`);
  const heard = once(daemon.stdout!, 'data');
  const r = await qmta(['--home', home, 'user', 'add', 'ivy']);
  t.is(r.code, 0);
  t.regex(r.stdout, /running qmta reloaded/);
  t.is(String((await heard)[0]).trim(), 'reload');
});

test('importing the command module runs nothing; buildProgram registers the subcommands', async (t) => {
  const { buildProgram } = await import('../../ts/cli/main.js');
  const program = await buildProgram();
  t.true(program.commands.some((c) => c.name() === 'user'));
  t.is(process.exitCode ?? 0, 0);
});
