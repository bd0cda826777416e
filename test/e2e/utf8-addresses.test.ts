// UTF-8 addresses end to end (RFC 6531/6532): Python's smtplib sends with SMTPUTF8 to a
// running `qmta start`, local delivery writes Return-Path and Delivered-To, and Python's email
// package (policy SMTPUTF8) reads the delivered files back. A UTF-8 local part is atext, so
// it is written as sent; only what RFC 5322 needs quoting (a space here) is quoted.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';
import { addUser } from '../../ts/users/manage.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

const SEND = `
import smtplib, sys
port = int(sys.argv[1])
c = smtplib.SMTP('127.0.0.1', port, timeout=30)
c.ehlo('py.client')
assert c.has_extn('smtputf8')
for sender, rcpt, subject in [
    ('jürgen.müller@bücher.example', 'joe-ännä.öhm@bücher.example', 'one'),
    ('"jürgen müller"@example.com', 'joe@localhost', 'two'),
]:
    msg = ('From: ' + sender + '\\r\\nTo: ' + rcpt + '\\r\\nSubject: ' + subject +
        '\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n\\r\\nGrüße\\r\\n').encode('utf-8')
    c.sendmail(sender, [rcpt], msg, mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
c.quit()
`;

const READ = `
import email, email.policy, email.utils, json, os, sys
out = []
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), 'rb') as f:
        m = email.message_from_binary_file(f, policy=email.policy.SMTPUTF8)
    out.append({'subject': str(m['Subject']), 'returnPath': str(m['Return-Path']),
                'deliveredTo': str(m['Delivered-To']), 'sender': email.utils.parseaddr(str(m['Return-Path']))[1],
                'body': m.get_content()})
print(json.dumps(sorted(out, key=lambda o: o['subject'])))
`;

test('SMTPUTF8 sender and recipients: Return-Path and Delivered-To carry the addresses as sent', async (t) => {
  t.timeout(120_000);
  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), 'mx.example.test\n');
  writeFileSync(join(home, 'control', 'locals'), 'localhost\nbücher.example\n');
  const joe = await addUser(home, 'joe');
  if (joe.kind !== 'ok') return t.fail(joe.text);
  writeFileSync(join(joe.value.home, '.qmail-default'), './Maildir/\n');
  const smtp = await freePort();
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start', '--smtp', `127.0.0.1:${smtp}`,
    '--submission', '127.0.0.1:0', '--pop3', '127.0.0.1:0'], { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  await until('the SMTP listener', async () => (await run('python3', ['-c', `import socket; socket.create_connection(('127.0.0.1', ${smtp}), 2)`])
    .then(() => true, () => false)), 30_000, 200);
  await run('python3', ['-c', SEND, String(smtp)], { timeout: 60_000 });
  const maildir = join(joe.value.home, 'Maildir', 'new');
  await until('both deliveries', () => readdirSync(maildir).length === 2 || undefined);
  const { stdout } = await run('python3', ['-c', READ, maildir], { timeout: 30_000 });
  t.deepEqual(JSON.parse(stdout), [
    { subject: 'one', returnPath: '<jürgen.müller@bücher.example>', deliveredTo: 'joe-ännä.öhm@bücher.example',
      sender: 'jürgen.müller@bücher.example', body: 'Grüße\n' },
    { subject: 'two', returnPath: '<"jürgen müller"@example.com>', deliveredTo: 'joe@localhost',
      sender: '"jürgen müller"@example.com', body: 'Grüße\n' },
  ]);
});
