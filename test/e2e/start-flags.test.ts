// `qmta start --smtp/--submission/--pop3 ADDR:PORT`: the flags take the place of the
// listen control files for that run; an SMTP client then delivers into a maildir through
// the started daemon, and SIGTERM ends it with exit 0.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { listenerOverrides } from '../../ts/cli/start.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

/** The first line a server sends on connect, or undefined while nothing listens. */
async function greeting(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('data', (d) => { resolve(d.toString().split('\r\n')[0]); c.destroy(); });
    c.once('error', () => resolve(undefined));
  });
}

test('listener flags become control overrides, repeatable, only when given', (t) => {
  t.deepEqual(listenerOverrides({ smtp: ['127.0.0.1:25', '[::1]:25'], pop3s: ['0.0.0.0:995'] }), {
    smtplisten: ['127.0.0.1:25', '[::1]:25'],
    pop3slisten: ['0.0.0.0:995'],
  });
  t.deepEqual(listenerOverrides({ stdout: true }), {});
});

test('qmta start --smtp --pop3 listens where told and delivers SMTP mail to a maildir', async (t) => {
  t.timeout(90_000);
  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), 'mx.example.test\n');
  writeFileSync(join(home, 'control', 'locals'), 'example.test\n');
  const [smtp, pop3] = [await freePort(), await freePort()];
  const args = [MAIN, '--home', home, 'start', '--smtp', `127.0.0.1:${smtp}`, '--submission', '127.0.0.1:0', '--pop3', `127.0.0.1:${pop3}`];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  t.regex(await until('SMTP greeting', () => greeting(smtp)), /^220 /);
  t.regex(await until('POP3 greeting', () => greeting(pop3)), /^\+OK/);

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp, secure: false, ignoreTLS: true });
  await transport.sendMail({ from: 'a@far.example', to: 'postmaster@example.test', subject: 'flags', text: 'hello' });
  const maildir = join(home, 'alias', 'Maildir', 'new');
  await until('delivery', () => readdirSync(maildir).length === 1 || undefined);

  child.kill('SIGTERM');
  t.is(await exited, 0);
});
