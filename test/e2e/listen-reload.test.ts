// SIGHUP applies changed listen files: `qmta start` listening where control/smtplisten and
// control/pop3listen say, both rewritten to other ports, SIGHUP; the new ports greet, the
// old ones refuse, and an SMTP session opened before the reload finishes its message on
// the old listener.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { RawClient } from './smtp-harness.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

/** The first line a listener sends, or undefined when nothing listens there. */
function greeting(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1');
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5_000, () => done(undefined));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\n')) done(got.split('\n')[0]);
    });
    s.on('error', () => done(undefined));
  });
}

test('SIGHUP opens the listeners the listen files add and closes those they drop', async (t) => {
  t.timeout(60_000);
  const home = join(tempDir(t), 'home');
  const control = join(home, 'control');
  mkdirSync(control, { recursive: true });
  const [smtp1, smtp2, pop1, pop2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const files = { me: 'mx.example.test', smtplisten: `127.0.0.1:${smtp1}`, submissionlisten: '127.0.0.1:0', pop3listen: `127.0.0.1:${pop1}` };
  for (const [name, value] of Object.entries(files)) writeFileSync(join(control, name), `${value}\n`);
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  t.regex(await until('the first SMTP listener', () => greeting(smtp1)), /^220 mx\.example\.test/);
  t.regex(await until('the first POP3 listener', () => greeting(pop1)), /^\+OK/);
  const before = await RawClient.open(smtp1);
  await before.replies(1);

  writeFileSync(join(control, 'smtplisten'), `127.0.0.1:${smtp2}\n`);
  writeFileSync(join(control, 'pop3listen'), `127.0.0.1:${pop2}\n`);
  child.kill('SIGHUP');
  t.regex(await until('the second SMTP listener', () => greeting(smtp2)), /^220 mx\.example\.test/);
  t.regex(await until('the second POP3 listener', () => greeting(pop2)), /^\+OK/);
  t.is(await greeting(smtp1), undefined, 'the dropped SMTP address no longer accepts');
  t.is(await greeting(pop1), undefined, 'the dropped POP3 address no longer accepts');
  // The log names the new sets (written in batches: at most a second late).
  const log = () => { try { return readFileSync(join(home, 'log', 'qmta.log'), 'utf8'); } catch { return ''; } };
  await until('the new listeners in the log', () => log().includes(`"port":${smtp2}`) && log().includes(`"port":${pop2}`), 10_000);
  before.send('HELO old.test\r\nMAIL FROM:<a@old.test>\r\nRCPT TO:<postmaster@mx.example.test>\r\nDATA\r\n');
  const r = await before.replies(4);
  t.regex(r[3] ?? '', /^354/, 'a session accepted before the reload goes on');
  before.send('Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n');
  t.regex((await before.replies(2))[0] ?? '', /^250 2\.0\.0/);
  child.kill('SIGTERM');
});
