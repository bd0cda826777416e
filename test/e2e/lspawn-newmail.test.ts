// New-mail notices for a system account's delivery (through the delivery helper) are
// the same as a virtual user's: control/newmailhook runs (as the qmta account) with
// NEWMAIL_USER, NEWMAIL_RECIPIENT, NEWMAIL_FILE and the delivery's HOME, and qmail-send's
// "delivery N: success: did 1+0+0" line is logged for each. As root only (the helper runs
// only there); as an ordinary user the virtual user's half is notify.test.ts's.

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser } from '../../ts/users/index.js';
import { systemAccount } from '../helpers/accounts.js';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

test('a system account\'s maildir delivery fires newmailhook and logs as a virtual user\'s does', async (t) => {
  if (process.getuid!() !== 0) return t.pass('no delivery helper without root');
  t.timeout(120_000);
  const sys = systemAccount();
  const sysHome = join(sys.home, `qmta-newmail-${process.pid}-${Date.now()}`);
  for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(sysHome, 'Maildir', d), { recursive: true });
  writeFileSync(join(sysHome, '.qmail'), './Maildir/\n');
  execFileSync('chown', ['-R', `${sys.uid}:${sys.gid}`, sysHome]);
  t.teardown(() => spawnSync('rm', ['-rf', sysHome]));

  const owner = await defaultOwner();
  const outDir = tempDir(t);
  chownSync(outDir, owner.uid, owner.gid);
  const out = join(outDir, 'notices');
  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  const hook = `printf '%s|%s|%s|%s|%s\\n' "$NEWMAIL_USER" "$NEWMAIL_RECIPIENT" "$NEWMAIL_FILE" "$HOME" "$(id -u)" >> ${out}`;
  for (const [f, v] of [['me', 'mx.example'], ['locals', 'mx.example'], ['smtplisten', '127.0.0.1:0'], ['submissionlisten', '127.0.0.1:0'], ['pop3listen', '127.0.0.1:0'], ['newmailhook', hook]]) {
    writeFileSync(join(home, 'control', f!), `${v}\n`);
  }
  t.is((await addUser(home, 'joe')).kind, 'ok');
  t.is((await addUser(home, 'sys', { uid: sys.uid, gid: sys.gid, homeDir: sysHome })).kind, 'ok');
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const log = () => existsSync(join(home, 'log', 'qmta.log')) ? readFileSync(join(home, 'log', 'qmta.log'), 'utf8') : '';
  await until('helper started', () => log().includes('delivery helper started'), 60_000);

  const q = queueWriter(t, home);
  for (const to of ['sys', 'joe']) {
    t.is((await q.add({ sender: 'a@far.example', recipients: [`${to}@mx.example`] }, Buffer.from(`Subject: ${to}\n\nhi\n`))).kind, 'ok');
  }
  const lines = await until('two notices', () => {
    const l = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : [];
    return l.length === 2 && l.sort();
  });
  const sysFile = join(sysHome, 'Maildir', 'new', readdirSync(join(sysHome, 'Maildir', 'new'))[0]!);
  const joeHome = join(home, 'mail', 'joe');
  const joeFile = join(joeHome, 'Maildir', 'new', readdirSync(join(joeHome, 'Maildir', 'new'))[0]!);
  t.deepEqual(lines, [
    `joe|joe@mx.example|${joeFile}|${joeHome}|${owner.uid}`,
    `sys|sys@mx.example|${sysFile}|${sysHome}|${owner.uid}`,
  ]);
  await until('both deliveries logged', () => (log().match(/delivery \d+: success: did 1\+0\+0/g) ?? []).length === 2, 10_000);
  t.notRegex(log(), /newmail: no notice/);
  child.kill('SIGTERM');
});
