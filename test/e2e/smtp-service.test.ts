// The SMTP service as `qmta start` wires it: control/ settings, RCPT-time validation through
// the dot-qmail lookup (550 5.1.1 for nobody), AUTH against users/passwd on the
// submission port after STARTTLS with the generated self-signed certificate.

import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { openConfig } from '../../ts/config/index.js';
import { openQueue } from '../../ts/queue/index.js';
import { smtpService } from '../../ts/smtpd/service.js';
import { loadAssign } from '../../ts/users/assign.js';
import { addUser, setPassword } from '../../ts/users/manage.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { RawClient } from './smtp-harness.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

test('smtpService: control/ listeners, RCPT validation, AUTH after STARTTLS', async (t) => {
  const home = tempDir(t);
  const [smtp, submission] = [await freePort(), await freePort()];
  const config = await openConfig(home, {
    me: 'mx.example.test', locals: 'example.test', smtplisten: `127.0.0.1:${smtp}`, submissionlisten: `127.0.0.1:${submission}`,
  });
  if (config.kind !== 'ok') return t.fail(config.text);
  t.is((await addUser(home, 'joe')).kind, 'ok');
  t.is((await setPassword(home, 'joe', 'pw-of-joe')).kind, 'ok');
  const table = await loadAssign(home);
  const queue = openQueue(join(home, 'queue'));
  if (table.kind !== 'ok' || queue.kind !== 'ok') return t.fail('home not usable');
  const woken: string[] = [];
  const running = await smtpService({
    home, config: config.value, queue: queue.value, users: () => table.value, log: quiet, enqueued: (id) => woken.push(id),
  });
  if (running.kind !== 'ok') return t.fail(running.text);
  t.teardown(() => running.value.stop());
  t.true(existsSync(config.value.current().tlscert));

  const c = await RawClient.open(smtp);
  await c.reply();
  c.send('EHLO probe\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<joe@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<x@far.away>\r\n');
  const r = await c.replies(5);
  t.regex(r[2]!, /^250 2\.1\.5/);
  t.regex(r[3]!, /^550 5\.1\.1 /);
  t.regex(r[4]!, /^250 2\.1\.5/, 'loopback is a relay client by default');
  c.close();

  const transport = nodemailer.createTransport({
    host: '127.0.0.1', port: submission, secure: false, requireTLS: true,
    tls: { rejectUnauthorized: false }, auth: { user: 'joe', pass: 'pw-of-joe' },
  });
  const info = await transport.sendMail({ from: 'joe@example.test', to: 'friend@far.away', text: 'submitted' });
  t.regex(info.response, /^250 2\.0\.0 ok \d+/);
  const [id] = queue.value.listTodo();
  t.deepEqual(woken, [id], 'the scheduler is woken with the committed id');
  t.like(queue.value.readTodo(id!), { kind: 'ok', value: { sender: 'joe@example.test', recipients: ['friend@far.away'] } });
  const bad = nodemailer.createTransport({ host: '127.0.0.1', port: submission, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'joe', pass: 'wrong' } });
  await t.throwsAsync(bad.sendMail({ from: 'joe@example.test', to: 'f@far.away', text: 'x' }), { message: /535/ });
});
