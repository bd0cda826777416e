// Real SMTP clients against qmta's listener over loopback: nodemailer, Python's smtplib,
// curl and swaks; plain, pipelining, STARTTLS, AUTH, 8-bit and UTF-8 addresses, dot-stuffing;
// each message read back from the queue.

import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { startTestServer } from './smtp-harness.js';

// Async: the server runs in this process, a synchronous child would block it.
const run = promisify(execFile);

const users = { checkPassword: async (u: string, p: string) => u === 'bob' && p === 's3cret' };

function tlsSettings(dir: string) {
  return { tls: { certFile: join(dir, 'tls', 'cert.pem'), keyFile: join(dir, 'tls', 'key.pem') } };
}

test('nodemailer: plain SMTP with pipelining, 8-bit body and dot-stuffed lines', async (t) => {
  const s = await startTestServer(t);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: s.port(), secure: false, ignoreTLS: true });
  const info = await transport.sendMail({
    from: 'alice@remote.test',
    to: ['bob@example.test', 'carol@example.test'],
    subject: 'hello',
    text: 'Grüße\n.leading dot\n..two dots\n',
  });
  t.regex(info.response, /^250 2\.0\.0 ok \d+$/);
  const [m] = s.messages();
  t.deepEqual([m?.sender, m?.recipients], ['alice@remote.test', ['bob@example.test', 'carol@example.test']]);
  t.regex(m!.body, /^Received: from unknown \(HELO [^)]+\) \(127\.0\.0\.1\)\n  by mx\.example\.test \(qmta\) with ESMTP; /);
  t.true(m!.body.includes('\n.leading dot\n..two dots\n'));
  t.false(m!.body.includes('\r'));
});

test('python smtplib: STARTTLS, AUTH PLAIN, SMTPUTF8 addresses', async (t) => {
  const s2 = await startTestServer(t, tlsSettings(tempDir(t)), users);
  const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP('127.0.0.1', ${s2.port('submission')})
c.ehlo('py.client')
assert c.has_extn('starttls') and not c.has_extn('auth')
c.starttls(context=ctx); c.ehlo('py.client')
assert c.has_extn('auth') and c.has_extn('smtputf8')
c.login('bob', 's3cret')
msg = 'Subject: utf8\\r\\n\\r\\nbody \\u00e9\\r\\n'.encode('utf-8')
c.sendmail('bób@example.test', ['jörg@example.test'], msg, mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
c.quit()
`;
  await run('python3', ['-c', script], { timeout: 30_000 });
  const [m] = s2.messages();
  t.is(m?.sender, 'bób@example.test');
  t.deepEqual(m?.recipients, ['jörg@example.test']);
  t.regex(m!.body, /\(authenticated user bob\)\n  by mx\.example\.test \(qmta\) with ESMTPSA \(TLSv1\.[23] [A-Z0-9_-]+\);/);
  t.true(m!.body.endsWith('\nbody é\n'));
});

test('curl smtp://: a plain upload lands in the queue', async (t) => {
  const s = await startTestServer(t);
  const file = join(s.dir, 'mail.txt');
  writeFileSync(file, 'Subject: from curl\r\n\r\nline one\r\n.line two\r\n');
  await run('curl', ['-sS', '--url', `smtp://127.0.0.1:${s.port()}`, '--mail-from', 'c@remote.test', '--mail-rcpt', 'bob@example.test', '--upload-file', file], { timeout: 30_000 });
  const [m] = s.messages();
  t.is(m?.sender, 'c@remote.test');
  t.true(m!.body.endsWith('Subject: from curl\n\nline one\n.line two\n'));
});

test('swaks: PIPELINING and AUTH LOGIN on the submission port', async (t) => {
  const swaks = needCommand('swaks', 'swaks');
  // Plaintext AUTH through the loopback-testing setting (STARTTLS is proven with smtplib above).
  const s = await startTestServer(t, { authWithoutTls: true }, users);
  const { stdout: out } = await run(swaks, [
    '--server', '127.0.0.1', '--port', String(s.port('submission')), '--from', 'bob@example.test', '--to', 'far@away.test',
    '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 's3cret', '--pipeline', '--body', 'via swaks',
  ], { timeout: 60_000, encoding: 'utf8' });
  t.regex(out, /250 2\.0\.0 ok \d+/);
  const [m] = s.messages();
  t.deepEqual(m?.recipients, ['far@away.test']);
  t.regex(m!.body, /with ESMTPA;/);
});

test('nodemailer: implicit TLS (smtps) with AUTH, and AUTH refused on plaintext before STARTTLS', async (t) => {
  const loop = [{ host: '127.0.0.1', port: 0 }];
  const s = await startTestServer(t, { ...tlsSettings(tempDir(t)), smtps: loop }, users);
  const secure = nodemailer.createTransport({
    host: '127.0.0.1', port: s.port('smtps'), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob', pass: 's3cret' },
  });
  const info = await secure.sendMail({ from: 'bob@example.test', to: 'friend@far.away', text: 'over smtps' });
  t.regex(info.response, /^250 2\.0\.0 ok \d+/);
  t.regex(s.messages()[0]!.body, /with ESMTPSA \(TLSv1\.[23] /);
  const plain = nodemailer.createTransport({ host: '127.0.0.1', port: s.port('submission'), ignoreTLS: true, auth: { user: 'bob', pass: 's3cret' } });
  await t.throwsAsync(plain.sendMail({ from: 'bob@example.test', to: 'f@far.away', text: 'x' }));
  t.is(s.messages().length, 1);
});
