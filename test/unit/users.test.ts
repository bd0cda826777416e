import test from 'ava';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addUser, apopSecret, checkPassword, delUser, formatAssign, listUsers, loadAssign, lookupUser, parseAssign,
  setPassword, verifyPassword,
} from '../../ts/users/index.js';
import { defaultOwner, tempDir } from '../helpers/home.js';

const ALIAS = { home: '/q/alias', uid: 7, gid: 8 };

const ASSIGN = [
  '=joe:joe:507:100:/home/joe:::',
  '+joe-:joe:507:100:/home/joe:-::',
  '+joe-list-:joelist:508:100:/home/lists:-:list-:',
  '=Joe-Direct:direct:509:100:/home/direct:-:exact:',
  '+:catch:510:100:/home/catch:-:any-:',
  '+joe-:second:511:100:/home/second:-::',
  '.',
  'ignored after the dot',
  '',
].join('\n');

function table() {
  const r = parseAssign(ASSIGN);
  if (r.kind !== 'ok') throw new Error(r.text);
  return r.value;
}

const LOOKUPS: Array<[string, string, string, string, string]> = [
  // local, user, home, dash, ext
  ['joe', 'joe', '/home/joe', '', ''],
  ['JOE', 'joe', '/home/joe', '', '', ],
  ['joe-direct', 'direct', '/home/direct', '-', 'exact'],
  ['joe-Foo', 'joe', '/home/joe', '-', 'Foo'],
  ['joe-list-', 'joelist', '/home/lists', '-', 'list-'],
  ['joe-list-X.y', 'joelist', '/home/lists', '-', 'list-X.y'],
  ['JOE-LIST-a', 'joelist', '/home/lists', '-', 'list-a'],
  ['joe-lis', 'joe', '/home/joe', '-', 'lis'],
  ['jo', 'catch', '/home/catch', '-', 'any-jo'],
  ['Nobody', 'catch', '/home/catch', '-', 'any-Nobody'],
];

for (const [local, user, home, dash, ext] of LOOKUPS) {
  test(`users/assign lookup ${local}`, (t) => {
    const a = lookupUser(table(), local, ALIAS);
    t.deepEqual({ user: a.user, home: a.home, dash: a.dash, ext: a.ext }, { user, home, dash, ext });
  });
}

test('any = beats any +, the first line wins among equal keys, uid/gid come from the line', (t) => {
  const a = lookupUser(table(), 'joe-direct', ALIAS);
  t.is(a.user, 'direct');
  const b = lookupUser(table(), 'joe-x', ALIAS);
  t.deepEqual([b.user, b.uid, b.gid], ['joe', 507, 100]);
});

test('no match falls through to the alias user with the whole local part as ext', (t) => {
  const r = parseAssign('=joe:joe:1:1:/home/joe:::\n.\n');
  if (r.kind !== 'ok') return t.fail(r.text);
  t.deepEqual(lookupUser(r.value, 'PostMaster', ALIAS),
    { user: 'alias', uid: 7, gid: 8, home: '/q/alias', dash: '-', ext: 'PostMaster' });
});

const BAD_ASSIGN: Array<[string, RegExp]> = [
  ['=joe:joe:1:1:/home/joe:::\n', /no final "\."/],
  ['=joe:joe:1:1:/home/joe::\n.\n', /line 1/],
  ['=joe:joe:x:1:/home/joe:::\n.\n', /line 1/],
  ['=joe:joe:1:1:relative:::\n.\n', /line 1/],
  ['\n.\n', /line 1/],
  ['=joe:joe:1:1:/home/joe:::\n-bad\n.\n', /line 2/],
  ['=joe:joe:1:1:/home/\0joe:::\n.\n', /NUL/],
];

for (const [text, re] of BAD_ASSIGN) {
  test(`malformed users/assign ${JSON.stringify(text)} is refused`, (t) => {
    const r = parseAssign(text);
    t.is(r.kind, 'temp');
    if (r.kind === 'temp') t.regex(r.text, re);
  });
}

test('formatAssign round-trips', (t) => {
  const text = formatAssign(table().entries);
  t.is(text, ASSIGN.split('\n.\n')[0] + '\n.\n');
});

test('loadAssign: missing file is an empty table, an unreadable one a temporary error', async (t) => {
  const home = tempDir(t);
  const empty = await loadAssign(home);
  t.true(empty.kind === 'ok' && empty.value.entries.length === 0);
  mkdirSync(join(home, 'users', 'assign'), { recursive: true });
  t.is((await loadAssign(home)).kind, 'temp');
});

test('addUser writes the qmail-pw2u pair and creates the home with Maildir/', async (t) => {
  const home = tempDir(t);
  const r = await addUser(home, 'alice', { uid: 1001, gid: 1002 });
  if (r.kind !== 'ok') return t.fail(r.text);
  const dir = join(home, 'mail', 'alice');
  t.is(r.value.home, dir);
  t.is(readFileSync(join(home, 'users', 'assign'), 'utf8'),
    `=alice:alice:1001:1002:${dir}:::\n+alice-:alice:1001:1002:${dir}:-::\n.\n`);
  for (const sub of ['cur', 'new', 'tmp']) t.true(statSync(join(dir, 'Maildir', sub)).isDirectory());
  t.is(statSync(dir).mode & 0o002, 0, 'home is not world-writable');
  const again = await addUser(home, 'alice');
  t.is(again.kind, 'perm');
  const other = await addUser(home, 'bob', { homeDir: join(home, 'elsewhere', 'bob') });
  if (other.kind !== 'ok') return t.fail(other.text);
  t.is(other.value.uid, (await defaultOwner()).uid);
  t.not(other.value.uid, 0, 'never root');
  t.is(statSync(join(home, 'elsewhere', 'bob', 'Maildir', 'new')).uid, (await defaultOwner()).uid);
  const table = await loadAssign(home);
  if (table.kind !== 'ok') return t.fail(table.text);
  t.is(lookupUser(table.value, 'bob-Lists', ALIAS).ext, 'Lists');
  t.is(lookupUser(table.value, 'bob-Lists', ALIAS).home, join(home, 'elsewhere', 'bob'));
});

for (const name of ['Alice', '', '-x', 'a:b', 'a b', 'alias', 'x'.repeat(32), 'a\nb']) {
  test(`addUser refuses the name ${JSON.stringify(name)}`, async (t) => {
    const r = await addUser(tempDir(t), name);
    t.is(r.kind, 'perm');
  });
}

test('concurrent addUser calls lose nobody (users/ lock)', async (t) => {
  const home = tempDir(t);
  const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
  const rs = await Promise.all(names.map((n) => addUser(home, n)));
  t.true(rs.every((r) => r.kind === 'ok'));
  const list = await listUsers(home);
  if (list.kind !== 'ok') return t.fail(list.text);
  t.deepEqual(list.value.map((u) => u.name).sort(), names);
});

test('passwords: right one verifies, wrong one does not, by bare name or name@localdomain', async (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'));
  writeFileSync(join(home, 'control', 'locals'), 'Example.COM\nlocalhost\n');
  await addUser(home, 'carol');
  t.is((await setPassword(home, 'carol', 'correct horse')).kind, 'ok');
  const line = readFileSync(join(home, 'users', 'passwd'), 'utf8');
  t.regex(line, /^carol:scrypt:16384:8:1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\n$/);
  t.false(line.includes('correct horse'));
  t.is(statSync(join(home, 'users', 'passwd')).mode & 0o077, 0);
  t.true(await verifyPassword(home, 'carol', 'correct horse'));
  t.true(await verifyPassword(home, 'Carol@example.com', 'correct horse'));
  t.true(await verifyPassword(home, 'carol@localhost', 'correct horse', ['localhost']));
  t.false(await verifyPassword(home, 'carol', 'Correct horse'));
  t.false(await verifyPassword(home, 'carol@elsewhere.example', 'correct horse'));
  t.false(await verifyPassword(home, 'nobody', 'correct horse'));
  t.false(await verifyPassword(home, 'carol', 'x'.repeat(5000)));
});

test('a damaged hash line or unreadable passwd is temporary for checkPassword, false for verifyPassword', async (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, 'users'));
  writeFileSync(join(home, 'users', 'passwd'), 'dave:scrypt:1048577:8:1:c2FsdHNhbHQ=:a2V5a2V5a2V5a2V5a2V5a2V5\n');
  const r = await checkPassword(home, 'dave', 'pw');
  t.is(r.kind, 'temp');
  t.false(await verifyPassword(home, 'dave', 'pw'));
});

test('setPassword refuses unknown users and bad passwords; APOP secrets are kept apart', async (t) => {
  const home = tempDir(t);
  t.is((await setPassword(home, 'nobody', 'pw')).kind, 'perm');
  await addUser(home, 'erin');
  for (const bad of ['', 'a\nb', 'x'.repeat(1025)]) t.is((await setPassword(home, 'erin', bad)).kind, 'perm');
  t.is((await setPassword(home, 'erin', 'apop secret', { apop: true })).kind, 'ok');
  const s = await apopSecret(home, 'erin');
  t.deepEqual(s, { kind: 'ok', value: 'apop secret' });
  t.false(await verifyPassword(home, 'erin', 'apop secret'), 'the APOP secret is not a login password');
  t.is(statSync(join(home, 'users', 'apop')).mode & 0o077, 0);
  const list = await listUsers(home);
  t.deepEqual(list.kind === 'ok' && list.value.map((u) => [u.name, u.password, u.apop]), [['erin', false, true]]);
});

test('delUser removes assign lines and secrets but keeps the mail', async (t) => {
  const home = tempDir(t);
  await addUser(home, 'fred');
  await addUser(home, 'gina');
  await setPassword(home, 'fred', 'pw');
  await setPassword(home, 'fred', 'sec', { apop: true });
  t.is((await delUser(home, 'fred')).kind, 'ok');
  t.is((await delUser(home, 'fred')).kind, 'perm');
  const list = await listUsers(home);
  t.deepEqual(list.kind === 'ok' && list.value.map((u) => u.name), ['gina']);
  t.false(await verifyPassword(home, 'fred', 'pw'));
  t.is(readFileSync(join(home, 'users', 'apop'), 'utf8'), '');
  t.true(statSync(join(home, 'mail', 'fred', 'Maildir')).isDirectory());
});

test('a stale users/ lock left by a dead command is taken over', async (t) => {
  const { utimesSync } = await import('node:fs');
  const home = tempDir(t);
  mkdirSync(join(home, 'users'));
  writeFileSync(join(home, 'users', '.lock'), '');
  const old = new Date(Date.now() - 120_000);
  utimesSync(join(home, 'users', '.lock'), old, old);
  const r = await addUser(home, 'late');
  t.is(r.kind, 'ok');
});
