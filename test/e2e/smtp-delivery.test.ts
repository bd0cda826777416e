// SMTP into the whole engine: messages accepted by the SMTP service end up in the right
// maildirs (a user's, the alias user's for postmaster), the scheduler woken by each commit.

import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createEngine } from '../../ts/daemon/engine.js';
import { ensureHome } from '../../ts/home/index.js';
import { smtpService } from '../../ts/smtpd/service.js';
import { addUser } from '../../ts/users/manage.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function files(dir: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(dir) && readdirSync(dir).length >= n) return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${n} files in ${dir}`);
}

test('SMTP -> queue -> maildirs: a user and postmaster, dot-stuffing and 8-bit intact', async (t) => {
  const home = tempDir(t);
  const [smtp, submission] = [await freePort(), await freePort()];
  const control = { me: 'mx.example.test', locals: ['example.test'], smtplisten: `127.0.0.1:${smtp}`, submissionlisten: `127.0.0.1:${submission}` };
  t.is((await ensureHome(home)).kind, 'ok');
  const engine = await createEngine({ home, control, log: quiet });
  if (engine.kind !== 'ok') return t.fail(engine.text);
  const e = engine.value;
  t.is((await addUser(home, 'joe')).kind, 'ok');
  t.is((await e.reload()).kind, 'ok');
  await e.start();
  t.teardown(() => e.stop(1000));
  const svc = await smtpService({ home, config: e.config, queue: e.queue, users: e.users, log: quiet, enqueued: (id) => e.scheduler.enqueued(id) });
  if (svc.kind !== 'ok') return t.fail(svc.text);
  t.teardown(() => svc.value.stop());

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp, ignoreTLS: true });
  await transport.sendMail({ from: 'a@far.example', to: ['joe@example.test', 'postmaster@example.test'], subject: 'x', text: 'Grüße\n.dot line\n' });
  const [joe] = await files(join(home, 'mail', 'joe', 'Maildir', 'new'), 1);
  const [pm] = await files(join(home, 'alias', 'Maildir', 'new'), 1);
  for (const text of [joe!, pm!]) {
    t.regex(text, /^Return-Path: <a@far\.example>\nDelivered-To: /);
    t.regex(text, /\nReceived: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n  by mx\.example\.test \(qmta\) with ESMTP; /);
    t.true(text.includes('\n.dot line\n'));
    t.true(text.includes('Grüße') || text.includes('=C3=BC'));
  }
  t.true(joe!.startsWith('Return-Path: <a@far.example>\nDelivered-To: joe@example.test\n'));
});
