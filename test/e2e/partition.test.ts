// `qmta start` and trust partitioning (SECURITY.md). Run as root: the daemon becomes the
// qmta account before anything can connect, every thread of it has the account's uid,
// gid and groups and no capability, a virtual user's program runs as the account and its
// maildir files are the account's, and the daemon cannot open a root-only file. Run as
// an ordinary user: one process, our own ids, as before partitioning.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser } from '../../ts/users/index.js';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const ROOT = process.getuid!() === 0;

interface Ids { uid: string; gid: string; groups: string; capEff: string; capPrm: string }

/** Uid, Gid, Groups, CapEff, CapPrm of every thread of `pid`. */
function threadIds(pid: number): Ids[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const f = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(s)?.[1]?.trim() ?? '';
    return { uid: f('Uid'), gid: f('Gid'), groups: f('Groups'), capEff: f('CapEff'), capPrm: f('CapPrm') };
  });
}

/** True once something accepts on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

test('qmta start drops to its account before the first connection, in every thread', async (t) => {
  t.timeout(120_000);
  const dir = tempDir(t);
  const home = join(dir, 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), 'mx.example\n');
  writeFileSync(join(home, 'control', 'locals'), 'mx.example\n');
  const smtp = await freePort();
  for (const [f, v] of [['smtplisten', `127.0.0.1:${smtp}`], ['submissionlisten', '127.0.0.1:0'], ['pop3listen', '127.0.0.1:0']]) {
    writeFileSync(join(home, 'control', f!), `${v}\n`);
  }
  t.is((await addUser(home, 'joe')).kind, 'ok');
  // A root-only file: the daemon's own attempt to append to it must fail once it has dropped.
  const secret = join(dir, 'root-only');
  writeFileSync(secret, 'secret\n', { mode: 0o600 });
  writeFileSync(join(home, 'mail', 'joe', '.qmail-secret'), `${secret}\n`);
  writeFileSync(join(home, 'mail', 'joe', '.qmail-prog'), '|id -u > "$HOME/prog-uid"\n./Maildir/\n');
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  // The first moment the SMTP port accepts, the process is already the account.
  await until('SMTP port open', () => accepts(smtp), 60_000, 5);
  const owner = await defaultOwner();
  const first = threadIds(child.pid!);
  const want = ROOT ? owner : { uid: process.getuid!(), gid: process.getgid!() };
  for (const ids of first) {
    t.is(ids.uid, `${want.uid}\t${want.uid}\t${want.uid}\t${want.uid}`, stderr);
    t.is(ids.gid, `${want.gid}\t${want.gid}\t${want.gid}\t${want.gid}`);
    if (ROOT) {
      t.is(ids.capEff, '0000000000000000');
      t.is(ids.capPrm, '0000000000000000');
      t.false(ids.groups.split(/\s+/).includes('0'), `no root group: ${ids.groups}`);
    }
  }
  t.true(first.length > 4, `the core's and libuv's threads are counted too (${first.length})`);
  const log = () => existsSync(join(home, 'log', 'qmta.log')) ? readFileSync(join(home, 'log', 'qmta.log'), 'utf8') : '';
  if (ROOT) {
    await until('migration logged', () => log().includes(`"migrated ${home}`));
    t.is(statSync(join(home, 'queue')).uid, owner.uid);
    t.is(statSync(join(home, 'control')).uid, 0, 'control/ stays root\'s');
  }

  const q = queueWriter(t, home);
  t.is((await q.add({ sender: 'a@far.example', recipients: ['joe-prog@mx.example'] }, Buffer.from('Subject: p\n\nhi\n'))).kind, 'ok');
  t.is((await q.add({ sender: 'a@far.example', recipients: ['joe-secret@mx.example'] }, Buffer.from('Subject: s\n\nhi\n'))).kind, 'ok');
  const maildir = join(home, 'mail', 'joe', 'Maildir', 'new');
  await until('program delivery', () => readdirSync(maildir).length === 1);
  t.is(readFileSync(join(home, 'mail', 'joe', 'prog-uid'), 'utf8').trim(), String(want.uid), 'a virtual user\'s program runs as the account');
  t.is(statSync(join(maildir, readdirSync(maildir)[0]!)).uid, want.uid, 'its maildir file is the account\'s');
  if (ROOT) {
    await until('the root-only file refused', () => log().includes(`deferral: opening ${secret}: Permission denied`));
    t.is(readFileSync(secret, 'utf8'), 'secret\n');
  }
  child.kill('SIGTERM');
});
