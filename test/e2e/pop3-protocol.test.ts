// RFC 1939 / 2449 behaviour of the POP3 service, driven by a raw client on loopback.
import test from 'ava';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { login, makeMaildir, putMessage, RawClient, startTestPop3 } from './pop3-harness.js';

/** The lock is released right after the close (asynchronously): wait for it. */
async function lockGone(maildir: string): Promise<void> {
  await until('the mailbox lock released', () => !existsSync(join(maildir, 'qmta-pop3.lock')), 30_000, 10);
}

function setup(t: Parameters<typeof tempDir>[0]) {
  const home = tempDir(t);
  const maildir = makeMaildir(home);
  return { home, maildir, users: { alice: { password: 'pw', apop: 'tanstaaf', home } } };
}

test('greeting carries an APOP timestamp; CAPA lists the extensions', async (t) => {
  const { users } = setup(t);
  const s = await startTestPop3(t, users);
  const c = await RawClient.open(s.port);
  t.regex((await c.line()) ?? '', new RegExp(`^\\+OK .* <${process.pid}\\.\\d+\\.\\d+@pop\\.test>$`));
  const capa = await c.multi('CAPA');
  t.is(capa.status, '+OK capability list follows');
  for (const cap of ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'USER']) t.true(capa.lines.includes(cap), cap);
  t.false(capa.lines.includes('STLS')); // no certificate configured
  t.is(await c.cmd('STAT'), '-ERR authorization first');
  t.is(await c.cmd('QUIT'), '+OK bye');
  await c.waitClosed();
});

test('STAT, LIST, UIDL, TOP, RETR, DELE, RSET follow RFC 1939', async (t) => {
  const { users, maildir } = setup(t);
  const u1 = putMessage(maildir, 'Subject: one\n\nbody one\n', 1_700_000_001);
  const u2 = putMessage(maildir, 'Subject: two\n\nl1\n.dot\nl3\n', 1_700_000_002);
  const s = await startTestPop3(t, users);
  const c = await login(s.port, 'alice', 'pw');
  // sizes count CR LF: 23 bytes + 3 LF = 26; 25 + 5 = 30
  t.is(await c.cmd('STAT'), '+OK 2 56');
  t.deepEqual((await c.multi('LIST')).lines, ['1 26', '2 30']);
  t.is(await c.cmd('LIST 2'), '+OK 2 30');
  t.deepEqual((await c.multi('UIDL')).lines, [`1 ${u1}`, `2 ${u2}`]);
  t.deepEqual((await c.multi('TOP 2 1')).lines, ['Subject: two', '', 'l1']);
  t.deepEqual((await c.multi('TOP 2 0')).lines, ['Subject: two', '']);
  const retr = await c.multi('RETR 2');
  t.is(retr.status, '+OK 30 octets');
  t.deepEqual(retr.lines, ['Subject: two', '', 'l1', '.dot', 'l3']);
  t.is(await c.cmd('DELE 1'), '+OK message 1 deleted');
  t.is(await c.cmd('DELE 1'), '-ERR message 1 already deleted');
  t.is(await c.cmd('RETR 1'), '-ERR message 1 already deleted');
  t.is(await c.cmd('STAT'), '+OK 1 30'); // RFC: deleted ones counted in neither total
  t.deepEqual((await c.multi('LIST')).lines, ['2 30']);
  t.is(await c.cmd('RSET'), '+OK maildrop has 2 56');
  t.is(await c.cmd('RETR 3'), '-ERR no such message, only 2 messages in maildrop');
  t.is(await c.cmd('RETR 0'), '-ERR no such message, only 2 messages in maildrop');
  t.is(await c.cmd('RETR x'), '-ERR syntax error');
  t.is(await c.cmd('TOP 1'), '-ERR syntax error');
  t.is(await c.cmd('LAST'), '-ERR unknown command');
  t.is(await c.cmd('NOOP'), '+OK');
  t.is(await c.cmd('QUIT'), '+OK bye');
});

test('new/ moves to cur/ at login; deletions only at QUIT', async (t) => {
  const { users, maildir } = setup(t);
  const u1 = putMessage(maildir, 'a\n');
  putMessage(maildir, 'b\n');
  const s = await startTestPop3(t, users);
  const c = await login(s.port, 'alice', 'pw');
  t.deepEqual(readdirSync(join(maildir, 'new')), []);
  t.is(readdirSync(join(maildir, 'cur')).length, 2);
  t.is(await c.cmd('DELE 1'), '+OK message 1 deleted');
  t.true(existsSync(join(maildir, 'cur', `${u1}:2,`)));
  t.is(await c.cmd('QUIT'), '+OK bye');
  await c.waitClosed();
  t.deepEqual(readdirSync(join(maildir, 'cur')).length, 1);
  t.false(existsSync(join(maildir, 'cur', `${u1}:2,`)));
  t.false(existsSync(join(maildir, 'qmta-pop3.lock')));
});

test('a dropped connection deletes nothing and frees the mailbox', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'a\n');
  putMessage(maildir, 'b\n');
  const s = await startTestPop3(t, users);
  const c = await login(s.port, 'alice', 'pw');
  t.is(await c.cmd('DELE 1'), '+OK message 1 deleted');
  t.is(await c.cmd('DELE 2'), '+OK message 2 deleted');
  c.drop();
  await lockGone(maildir);
  const again = await login(s.port, 'alice', 'pw');
  t.is(await again.cmd('STAT'), '+OK 2 6');
  await again.cmd('QUIT');
});

test('a second session for the same mailbox gets [IN-USE]', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'a\n');
  const s = await startTestPop3(t, users);
  const first = await login(s.port, 'alice', 'pw');
  const second = await RawClient.open(s.port);
  await second.line();
  await second.cmd('USER alice');
  t.is(await second.cmd('PASS pw'), '-ERR [IN-USE] mailbox already in use by another session');
  t.is(await second.cmd('STAT'), '-ERR authorization first'); // still AUTHORIZATION
  await first.cmd('QUIT');
  await first.waitClosed();
  await second.cmd('USER alice');
  t.regex((await second.cmd('PASS pw')) ?? '', /^\+OK maildrop has 1 messages/);
  await second.cmd('QUIT');
});

test('APOP logs in with the MD5 digest of timestamp + secret', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'a\n');
  const s = await startTestPop3(t, users, { plaintext: false });
  const c = await RawClient.open(s.port);
  const stamp = /<[^>]+>/.exec((await c.line()) ?? '')?.[0] ?? '';
  const { createHash } = await import('node:crypto');
  t.is(await c.cmd('APOP alice 00000000000000000000000000000000'), '-ERR [AUTH] authentication failed');
  const digest = createHash('md5').update(`${stamp}tanstaaf`).digest('hex');
  t.regex((await c.cmd(`APOP alice ${digest}`)) ?? '', /^\+OK maildrop has 1 messages/);
  await c.cmd('QUIT');
});

test('UTF-8 names and passwords work', async (t) => {
  const { home } = setup(t);
  const s = await startTestPop3(t, { 'jürgen': { password: 'pässwörd ✓', home } });
  const c = await login(s.port, 'jürgen', 'pässwörd ✓');
  t.is(await c.cmd('STAT'), '+OK 0 0');
});

test('USER/PASS are refused without TLS unless plaintext is allowed', async (t) => {
  const { users } = setup(t);
  const s = await startTestPop3(t, users, { plaintext: false });
  const c = await RawClient.open(s.port);
  await c.line();
  t.false((await c.multi('CAPA')).lines.includes('USER'));
  t.is(await c.cmd('USER alice'), '-ERR [AUTH] USER/PASS need TLS: use STLS first');
  t.is(await c.cmd('PASS pw'), '-ERR [AUTH] USER/PASS need TLS: use STLS first');
});

test('bad passwords: delayed, limited per connection and per address', async (t) => {
  const { users } = setup(t);
  const s = await startTestPop3(t, users, { badPasswordDelayMs: 200, maxAuthPerConnection: 2, maxFailuresPerIp: 3 });
  const c = await RawClient.open(s.port);
  await c.line();
  await c.cmd('USER alice');
  const start = Date.now();
  t.is(await c.cmd('PASS wrong'), '-ERR [AUTH] authentication failed');
  t.true(Date.now() - start >= 190);
  await c.cmd('USER nobody');
  t.is(await c.cmd('PASS x'), '-ERR [AUTH] authentication failed');
  await c.waitClosed(); // two attempts used up
  const d = await RawClient.open(s.port);
  await d.line();
  await d.cmd('USER alice');
  t.is(await d.cmd('PASS wrong'), '-ERR [AUTH] authentication failed');
  await d.cmd('USER alice');
  t.is(await d.cmd('PASS pw'), '-ERR [SYS/TEMP] too many failed logins from your address, try later');
});

test('command lines over 255 octets are refused and the session goes on', async (t) => {
  const { users } = setup(t);
  const s = await startTestPop3(t, users);
  const c = await RawClient.open(s.port);
  await c.line();
  t.is(await c.cmd(`USER ${'x'.repeat(300)}`), '-ERR line too long');
  c.socket.write('A'.repeat(100_000)); // no line end at all: bounded, then refused
  t.is(await c.cmd(''), '-ERR line too long');
  t.is(await c.cmd('NOOP'), '+OK');
});

test('pipelined commands are answered in order', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'x\n');
  const s = await startTestPop3(t, users);
  const c = await RawClient.open(s.port);
  await c.line();
  c.socket.write('USER alice\r\nPASS pw\r\nSTAT\r\nLIST 1\r\nQUIT\r\n');
  t.deepEqual([await c.line(), await c.line(), await c.line(), await c.line(), await c.line()],
    ['+OK', '+OK maildrop has 1 messages (3 octets)', '+OK 1 3', '+OK 1 3', '+OK bye']);
});

test('idle sessions are dropped without applying deletions', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'x\n');
  const s = await startTestPop3(t, users, { idleTimeoutMs: 300 });
  // Pipelined: the only pause is the idle one after DELE (one command at a time, a loaded
  // machine's client once paused 300 ms before PASS and was dropped before logging in).
  const c = await RawClient.open(s.port);
  c.socket.write('USER alice\r\nPASS pw\r\nDELE 1\r\n');
  t.deepEqual([await c.line(), await c.line(), await c.line()].map((l) => l?.slice(0, 3)), ['+OK', '+OK', '+OK']);
  t.is(await c.line(), '+OK message 1 deleted');
  await c.waitClosed();
  t.is(readdirSync(join(maildir, 'cur')).length, 1);
  await lockGone(maildir);
});

test('connections over the limit get -ERR [SYS/TEMP]', async (t) => {
  const { users } = setup(t);
  const s = await startTestPop3(t, users, { maxConnections: 1 });
  const a = await RawClient.open(s.port);
  t.regex((await a.line()) ?? '', /^\+OK/);
  const b = await RawClient.open(s.port);
  t.is(await b.line(), '-ERR [SYS/TEMP] too many connections');
  await b.waitClosed();
});

test('old tmp/ files are cleaned at login, fresh ones kept', async (t) => {
  const { users, maildir } = setup(t);
  writeFileSync(join(maildir, 'tmp', 'old'), 'x');
  const old = Date.now() / 1000 - 37 * 3600;
  utimesSync(join(maildir, 'tmp', 'old'), old, old);
  writeFileSync(join(maildir, 'tmp', 'fresh'), 'x');
  const s = await startTestPop3(t, users);
  const c = await login(s.port, 'alice', 'pw');
  t.deepEqual(readdirSync(join(maildir, 'tmp')), ['fresh']);
  await c.cmd('QUIT');
});

test('a user whose maildir does not exist yet has an empty maildrop', async (t) => {
  const home = tempDir(t);
  const s = await startTestPop3(t, { bob: { password: 'pw', home: join(home, 'missing') } });
  const c = await login(s.port, 'bob', 'pw');
  t.is(await c.cmd('STAT'), '+OK 0 0');
  t.is(await c.cmd('QUIT'), '+OK bye');
  t.false(existsSync(join(home, 'missing')));
});

test('a maildir that cannot be read is a temporary error, not a crash', async (t) => {
  const home = tempDir(t);
  writeFileSync(join(home, 'Maildir'), 'not a directory');
  const s = await startTestPop3(t, { bob: { password: 'pw', home } });
  const c = await RawClient.open(s.port);
  await c.line();
  await c.cmd('USER bob');
  t.regex((await c.cmd('PASS pw')) ?? '', /^-ERR \[SYS\/TEMP\]/);
  t.is(await c.cmd('NOOP'), '+OK');
});
