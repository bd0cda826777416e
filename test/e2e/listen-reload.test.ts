// SIGHUP applies a changed control/smtplisten: `qmta start` listening where control/ says,
// the file rewritten to another port, SIGHUP; the new port greets, the old one refuses,
// and a session opened before the reload finishes its transaction on the old listener.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { RawClient } from './smtp-harness.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

/** The greeting of a listener, or undefined when nothing listens there. */
async function greeting(port: number): Promise<string | undefined> {
  try {
    const c = await RawClient.open(port);
    const [r] = await c.replies(1, 5_000);
    c.close();
    return r;
  } catch {
    return undefined;
  }
}

test('SIGHUP opens the listeners control/smtplisten adds and closes those it drops', async (t) => {
  t.timeout(60_000);
  const home = join(tempDir(t), 'home');
  const control = join(home, 'control');
  mkdirSync(control, { recursive: true });
  const [first, second] = [await freePort(), await freePort()];
  const files = { me: 'mx.example.test', smtplisten: `127.0.0.1:${first}`, submissionlisten: '127.0.0.1:0', pop3listen: '127.0.0.1:0' };
  for (const [name, value] of Object.entries(files)) writeFileSync(join(control, name), `${value}\n`);
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  t.regex(await until('the first listener', () => greeting(first)), /^220 mx\.example\.test/);
  const before = await RawClient.open(first);
  await before.replies(1);

  writeFileSync(join(control, 'smtplisten'), `127.0.0.1:${second}\n`);
  child.kill('SIGHUP');
  t.regex(await until('the second listener', () => greeting(second)), /^220 mx\.example\.test/);
  t.is(await greeting(first), undefined, 'the dropped address no longer accepts');
  before.send('HELO old.test\r\nMAIL FROM:<a@old.test>\r\nRCPT TO:<postmaster@mx.example.test>\r\nDATA\r\n');
  const r = await before.replies(4);
  t.regex(r[3] ?? '', /^354/, 'a session accepted before the reload goes on');
  before.send('Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n');
  t.regex((await before.replies(2))[0] ?? '', /^250 2\.0\.0/);
  child.kill('SIGTERM');
});
