// fetchmail (Debian's) retrieves a maildrop from the POP3 service into an mbox through
// an MDA over STLS with certificate checking, and deletes what it fetched.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { makeMaildir, putMessage, selfSigned, startTestPop3 } from './pop3-harness.js';

const run = promisify(execFile);

test('fetchmail retrieves every message into an mbox and the maildrop empties', async (t) => {
  const fetchmail = needCommand('fetchmail', 'fetchmail');
  const dir = tempDir(t);
  const maildir = makeMaildir(join(dir, 'home'));
  const subjects = Array.from({ length: 25 }, (_, i) => `message ${i}`);
  for (const s of subjects) putMessage(maildir, `Subject: ${s}\n\nbody of ${s}\n.dot line\n`);
  // fetchmail 6.4 insists on STLS, so the service gets a certificate fetchmail verifies.
  const { key, cert, certPath } = selfSigned(t);
  const users = { carol: { password: 'fm-secret', apop: 'fm-secret', home: join(dir, 'home') } };
  const s = await startTestPop3(t, users, { plaintext: false, tls: { key, cert } });
  const mbox = join(dir, 'mbox');
  // The MDA appends each message to the mbox behind a From_ line.
  const mda = join(dir, 'mda.sh');
  writeFileSync(mda, `#!/bin/sh\n{ echo 'From fetchmail Thu Jan  1 00:00:00 1970'; cat; echo; } >> '${mbox}'\n`);
  chmodSync(mda, 0o755);
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(rc, `set no syslog
poll localhost via 127.0.0.1 with proto POP3 port ${s.port} timeout 30
  user "carol" there with password "fm-secret" is "carol" here
  fetchall nokeep sslcertck sslcertfile "${certPath}" sslcommonname "localhost"
  mda "${mda}"
`);
  chmodSync(rc, 0o600);
  const env = { ...process.env, HOME: dir, FETCHMAILHOME: dir };
  const r = await run(fetchmail, ['-f', rc, '--nodetach', '--nosyslog', '-v'], { env, timeout: 60_000 }).catch((e: { stdout: string; stderr: string }) => e);
  let text = '';
  try {
    text = readFileSync(mbox, 'latin1');
  } catch {
    t.fail(`no mbox written:\n${r.stdout}\n${r.stderr}`);
  }
  t.is(text.match(/^From fetchmail /gm)?.length, 25, `${r.stdout}\n${r.stderr}`);
  for (const sub of subjects) t.true(text.includes(`Subject: ${sub}\n`), sub);
  t.true(text.includes('\n.dot line\n')); // unstuffed by fetchmail
  t.deepEqual(readdirSync(join(maildir, 'cur')), []);
  t.deepEqual(readdirSync(join(maildir, 'new')), []);
});
