// curl against the POP3 service of a real home (users made as `qmta user add` and `qmta user
// passwd` make them): curl logs in with APOP whenever the greeting carries a timestamp, so a
// password-only user can log in only if the timestamp is offered just where APOP can succeed.
// Checks what curl lists and retrieves byte for byte, and which login it used (its -v trace).

import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { startPop3d, type Pop3Settings } from '../../ts/pop3d/index.js';
import { pop3DepsFromHome } from '../../ts/pop3d/home-deps.js';
import { addUser, setPassword } from '../../ts/users/manage.js';
import { putMessage, RawClient, selfSigned } from './pop3-harness.js';

const run = promisify(execFile);

/** Dot lines in every position, 8-bit bytes, LF line ends as a maildir stores them. */
const MESSAGES = [
  Buffer.concat([Buffer.from('Subject: one\n\n.\n..\n.lead\nmid . dot\n'), Buffer.from([0xe9, 0xff, 0x80, 0x0a])]),
  Buffer.from('Subject: two\n\nsecond\n'),
];

/** What POP3 sends for a stored message: CR LF line ends (curl removes the dot-stuffing). */
const crlf = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');

/** A home with a password-only user alice holding MESSAGES, and optionally APOP user carol. */
async function home(t: ExecutionContext, withApopUser: boolean): Promise<string> {
  const h = tempDir(t);
  for (const r of [await addUser(h, 'alice'), await setPassword(h, 'alice', 'p w!')]) if (r.kind !== 'ok') throw new Error(r.text);
  for (const m of MESSAGES) putMessage(join(h, 'mail', 'alice', 'Maildir'), m);
  if (withApopUser) {
    for (const r of [await addUser(h, 'carol'), await setPassword(h, 'carol', 'c-secret', { apop: true })]) {
      if (r.kind !== 'ok') throw new Error(r.text);
    }
    putMessage(join(h, 'mail', 'carol', 'Maildir'), MESSAGES[1] ?? Buffer.alloc(0));
  }
  return h;
}

async function serve(t: ExecutionContext, h: string, settings: Partial<Pop3Settings> = {}): Promise<number> {
  const server = await startPop3d({ listen: ['127.0.0.1:0'], plaintext: true, hostname: 'pop.test', badPasswordDelayMs: 10,
    ...settings }, pop3DepsFromHome(h));
  t.teardown(() => server.close());
  return server.addresses[0]?.port ?? 0;
}

async function curl(args: readonly string[]): Promise<{ stdout: Buffer; trace: string }> {
  const r = await run(needCommand('curl', 'curl'), ['-v', '-s', '-S', '--max-time', '30', ...args], { encoding: 'buffer' });
  return { stdout: r.stdout, trace: r.stderr.toString('latin1') };
}

test('no APOP secret anywhere: no timestamp in the greeting, APOP refused', async (t) => {
  const port = await serve(t, await home(t, false));
  const c = await RawClient.open(port);
  t.is(await c.line(), '+OK qmta POP3 server ready');
  t.is(await c.cmd('APOP alice 00000000000000000000000000000000'), '-ERR APOP not offered: use USER and PASS');
  await c.cmd('QUIT');
});

test('curl logs in a password-only user with USER/PASS: LIST and RETR byte-exact', async (t) => {
  const port = await serve(t, await home(t, false));
  const url = `pop3://127.0.0.1:${port}`;
  const list = await curl(['--user', 'alice:p w!', `${url}/`]);
  const sizes = MESSAGES.map((m, i) => `${i + 1} ${crlf(m).length}\r\n`).join('');
  t.is(list.stdout.toString('latin1'), sizes);
  t.regex(list.trace, /^> USER alice\r?$/m);
  t.notRegex(list.trace, /^> APOP/m);
  for (const [i, m] of MESSAGES.entries()) t.deepEqual((await curl(['--user', 'alice:p w!', `${url}/${i + 1}`])).stdout, crlf(m));
});

test('curl with STLS (--ssl-reqd) logs in a password-only user where USER/PASS needs TLS', async (t) => {
  const { key, cert, certPath } = selfSigned(t);
  const port = await serve(t, await home(t, false), { plaintext: false, tls: { key, cert } });
  const r = await curl(['--ssl-reqd', '--cacert', certPath, '--user', 'alice:p w!', `pop3://localhost:${port}/1`]);
  t.deepEqual(r.stdout, crlf(MESSAGES[0] ?? Buffer.alloc(0)));
  t.regex(r.trace, /^> STLS\r?$/m);
});

test('with an APOP user, the greeting has a timestamp and curl logs that user in with APOP', async (t) => {
  const port = await serve(t, await home(t, true), { plaintext: false });
  const c = await RawClient.open(port);
  t.regex((await c.line()) ?? '', /^\+OK qmta POP3 server ready <\d+\.\d+\.\d+@pop\.test>$/);
  await c.cmd('QUIT');
  const url = `pop3://127.0.0.1:${port}`;
  const list = await curl(['--user', 'carol:c-secret', `${url}/`]);
  t.is(list.stdout.toString('latin1'), `1 ${crlf(MESSAGES[1] ?? Buffer.alloc(0)).length}\r\n`);
  t.regex(list.trace, /^> APOP carol [0-9a-f]{32}\r?$/m);
  t.deepEqual((await curl(['--user', 'carol:c-secret', `${url}/1`])).stdout, crlf(MESSAGES[1] ?? Buffer.alloc(0)));
});

test('with a checkpassword program, APOP is not offered (most programs cannot check a digest)', async (t) => {
  const port = await serve(t, await home(t, true), { checkpassword: ['/bin/false'] });
  const c = await RawClient.open(port);
  t.is(await c.line(), '+OK qmta POP3 server ready');
  t.is(await c.cmd('APOP carol 00000000000000000000000000000000'), '-ERR APOP not offered: use USER and PASS');
  await c.cmd('QUIT');
});
