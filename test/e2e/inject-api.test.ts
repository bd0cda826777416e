// The embedding API's Mta.send: qmail-inject's rewriting (in the worker pool), then delivery
// by the running engine, which the commit wakes at once.

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { recordingRemote } from '../helpers/remote.js';
import { createMta } from '../../ts/index.js';

test('Mta.send fixes the header, completes addresses, drops Bcc and delivers', async (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), 'app.example.org\n');
  const { remote, sent: got } = recordingRemote();
  const mta = await createMta({ home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  await mta.start();
  const r = await mta.send('To: Customer <c@shop.example>\nBcc: audit@corp.example\nSubject: receipt\n\nthanks\n', {
    env: { QMAILUSER: 'orders', QMAILNAME: 'Shop Orders' },
  });
  t.is(r.sender, 'orders@app.example.org');
  t.deepEqual(r.recipients, ['c@shop.example', 'audit@corp.example']);
  await mta.idle();
  t.is(got.length, 2);
  const body = got[0]?.body ?? '';
  t.regex(body, /^Date: .* -0000\nMessage-ID: <\d{14}\.\d+\.\d+\.qmail@app\.example\.org>\nFrom: "Shop Orders" <orders@app\.example\.org>\nTo: Customer <c@shop\.example>\nSubject: receipt\n\nthanks\n$/);
  await t.throwsAsync(() => mta.send('Subject: nobody\n\nx\n'), { message: /^5\.1\.3 no recipients/ });
});
