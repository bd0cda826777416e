// The delivery helper (qmail-lspawn's role) end to end, as root: a real system account
// made with useradd receives mail through `qmta start`; its dot-qmail program runs with
// its own uid and groups and its maildir file is its own, next to a virtual user's
// (the qmta account's); uid 0 is refused with qmail's words; and the helper itself,
// driven directly, refuses uid 0, a home outside the account's, a malformed frame and a
// message that is not a queue file, and kills a delivery child that hangs. Run as an
// ordinary user there is no helper: `qmta lspawn` refuses to run.

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeFd, encodeLspawnRequest, sendWithFds, socketPair, type LspawnRequest } from '../../ts/native.js';
import { addUser, setPassword } from '../../ts/users/index.js';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until, waitFor } from '../helpers/wait.js';
import { systemAccount, SYSTEM_USER } from '../helpers/accounts.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const ROOT = process.getuid!() === 0;
const SYS = SYSTEM_USER;

function statusOf(pid: number): { uid: string; ppid: string } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: /^Uid:\s*(\d+)/m.exec(s)![1]!, ppid: /^PPid:\s*(\d+)/m.exec(s)![1]! };
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try { return statusOf(p).ppid === String(pid); } catch { return false; }
  });
}

test('a system account and a virtual user each get their mail as themselves; uid 0 is refused', async (t) => {
  if (!ROOT) {
    const r = spawnSync(process.execPath, [MAIN, 'lspawn', '1000'], { encoding: 'utf8' });
    t.is(r.status, 100, 'only qmta start as root runs the helper');
    return;
  }
  t.timeout(120_000);
  const sys = systemAccount();
  const sysHome = join(sys.home, `qmta-${process.pid}-${Date.now()}`);
  mkdirSync(join(sysHome, 'Maildir', 'new'), { recursive: true });
  for (const d of ['cur', 'tmp']) mkdirSync(join(sysHome, 'Maildir', d));
  writeFileSync(join(sysHome, '.qmail-prog'), '|id -u > "$HOME/prog-uid"; id -G > "$HOME/prog-groups"\n./Maildir/\n');
  execFileSync('chown', ['-R', `${sys.uid}:${sys.gid}`, sysHome]);
  t.teardown(() => spawnSync('rm', ['-rf', sysHome]));

  const home = join(tempDir(t), 'home');
  mkdirSync(join(home, 'control'), { recursive: true });
  for (const [f, v] of [['me', 'mx.example'], ['locals', 'mx.example'], ['smtplisten', '127.0.0.1:0'], ['submissionlisten', '127.0.0.1:0'], ['pop3listen', '127.0.0.1:0'], ['pop3plaintext', '1']]) {
    writeFileSync(join(home, 'control', f!), `${v}\n`);
  }
  t.is((await addUser(home, 'joe')).kind, 'ok');
  t.is((await addUser(home, 'sys', { uid: sys.uid, gid: sys.gid, homeDir: sysHome })).kind, 'ok');
  const assign = readFileSync(join(home, 'users', 'assign'), 'utf8').replace(/\.\n$/, '=rooty:root:0:0:/root:::\n.\n');
  writeFileSync(join(home, 'users', 'assign'), assign);
  writeFileSync(join(home, 'mail', 'joe', '.qmail-prog'), '|id -u > "$HOME/prog-uid"\n./Maildir/\n');

  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const log = () => existsSync(join(home, 'log', 'qmta.log')) ? readFileSync(join(home, 'log', 'qmta.log'), 'utf8') : '';
  await until('helper started', () => log().includes('delivery helper started'), 60_000);
  const owner = await defaultOwner();
  t.is(statusOf(child.pid!).uid, String(owner.uid), stderr);
  const helpers = childrenOf(child.pid!).filter((p) => statusOf(p).uid === '0');
  t.is(helpers.length, 1, 'one root child: the helper');

  const q = queueWriter(t, home);
  for (const to of ['sys-prog', 'joe-prog', 'rooty']) {
    t.is((await q.add({ sender: 'a@far.example', recipients: [`${to}@mx.example`] }, Buffer.from(`Subject: ${to}\n\nhi\n`))).kind, 'ok');
  }
  const sysNew = join(sysHome, 'Maildir', 'new');
  await until('the system account\'s delivery', () => readdirSync(sysNew).length === 1, 60_000);
  t.is(readFileSync(join(sysHome, 'prog-uid'), 'utf8').trim(), String(sys.uid));
  t.deepEqual(readFileSync(join(sysHome, 'prog-groups'), 'utf8').trim().split(' ').map(Number).sort(), [sys.gid, sys.extra].sort());
  t.is(statSync(join(sysNew, readdirSync(sysNew)[0]!)).uid, sys.uid);
  const joeNew = join(home, 'mail', 'joe', 'Maildir', 'new');
  await until('the virtual user\'s delivery', () => readdirSync(joeNew).length === 1);
  t.is(readFileSync(join(home, 'mail', 'joe', 'prog-uid'), 'utf8').trim(), String(owner.uid));
  t.is(statSync(join(joeNew, readdirSync(joeNew)[0]!)).uid, owner.uid);
  await until('uid 0 refused', () => /deferral: Not allowed to perform deliveries as root\. \(#4\.3\.0\)/.test(log()));

  // POP3 for the system account runs as that account: poplib sees its message, and the
  // session's lock file in its Maildir is its own while the session lasts.
  t.is((await setPassword(home, 'sys', 'sys pw')).kind, 'ok');
  const pop3 = Number(/"pop3: listening"/.test(log()) && /"addresses":\[\{"host":"127\.0\.0\.1","port":(\d+)/.exec(log().split('\n').find((l) => l.includes('pop3: listening'))!)![1]);
  const py = spawnSync('python3', ['-c', [
    'import poplib, os, sys',
    `p = poplib.POP3("127.0.0.1", ${pop3}, timeout=30)`,
    'p.user("sys"); print(p.pass_("sys pw").decode())',
    `print(os.stat(${JSON.stringify(join(sysHome, 'Maildir', 'qmta-pop3.lock'))}).st_uid)`,
    'print(p.stat()[0]); print(b"\\n".join(p.retr(1)[1]).decode()); p.dele(1); print(p.quit().decode())',
  ].join('\n')], { encoding: 'utf8', timeout: 60_000 });
  t.is(py.status, 0, py.stderr);
  const [greeting, lockUid, count, ...rest] = py.stdout.trim().split('\n');
  t.regex(greeting!, /^\+OK maildrop has 1 messages/);
  t.is(lockUid, String(sys.uid), 'the POP3 session runs as the system account');
  t.is(count, '1');
  t.true(rest.includes('Subject: sys-prog'));
  t.regex(rest.at(-1)!, /^\+OK bye/);
  t.deepEqual(readdirSync(join(sysHome, 'Maildir', 'cur')), [], 'deleted at QUIT, by the account');
  child.kill('SIGTERM');
});

/** Sends one request to a helper started here and returns what it answers on the reply socket. */
async function ask(control: number, packet: Buffer, input?: number): Promise<string> {
  const reply = socketPair('stream');
  if (reply.kind !== 'ok') throw new Error(reply.text);
  const [ours, theirs] = reply.value;
  const sent = sendWithFds(control, packet, input === undefined ? [theirs] : [theirs, input]);
  closeFd(theirs);
  if (sent.kind !== 'ok') throw new Error(sent.text);
  return new Promise((resolve) => {
    const s = new Socket({ fd: ours, readable: true, writable: false });
    let text = '';
    s.on('data', (c: Buffer) => { text += c.toString(); });
    s.on('close', () => resolve(text));
  });
}

test('the helper refuses uid 0, a home outside the account\'s, a malformed frame and a non-queue file', async (t) => {
  if (!ROOT) {
    t.is(spawnSync(process.execPath, [MAIN, 'lspawn', '0']).status, 100);
    return;
  }
  const sys = systemAccount();
  const owner = await defaultOwner();
  const pair = socketPair('seqpacket');
  if (pair.kind !== 'ok') return t.fail(pair.text);
  const [control, theirs] = pair.value;
  const helper = spawn(process.execPath, [MAIN, 'lspawn', String(owner.uid)], { stdio: ['ignore', 'ignore', 'pipe', theirs] });
  closeFd(theirs);
  let stderr = '';
  helper.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((r) => helper.once('exit', r));
  const dir = tempDir(t);
  const rootFile = join(dir, 'not-a-queue-file');
  writeFileSync(rootFile, 'Subject: x\n\n');
  const fd = openSync(rootFile, 'r');
  const base: LspawnRequest = { kind: 'local', uid: sys.uid, gid: sys.gid, user: SYS, home: sys.home, local: SYS, dash: '', ext: '', domain: 'mx.example', sender: 'a@b.c', timeoutMs: 5000 };
  const packet = (r: LspawnRequest) => { const p = encodeLspawnRequest(r); if (p.kind !== 'ok') throw new Error(p.text); return p.value; };
  const refused = (text: string) => JSON.parse(text) as { outcome: { kind: string; status: string; text: string } };

  const root = refused(await ask(control, packet({ ...base, uid: 0, gid: 0, home: '/root' }), fd));
  t.deepEqual(root.outcome, { kind: 'temp', status: '4.3.0', text: 'Not allowed to perform deliveries as root.' });
  const outside = refused(await ask(control, packet({ ...base, home: '/etc' }), fd));
  t.regex(outside.outcome.text, /^\/etc is outside the home of qmtasys/);
  const malformed = refused(await ask(control, Buffer.from('local\x001\x00'), fd));
  t.regex(malformed.outcome.text, /^malformed request to the delivery helper: /);
  const notQueue = refused(await ask(control, packet(base), fd));
  t.is(notQueue.outcome.text, 'the message is not a queue file');
  t.is(notQueue.outcome.status, '4.3.0');
  closeSync(fd);
  t.regex(stderr, /refused: Not allowed to perform deliveries as root\. \(#4\.3\.0\)/, 'refusals are logged');
  closeFd(control);
  t.is(await exited, 0, 'the helper ends when the daemon closes its end');
});

/** True when `pid` has exited (no /proc entry, or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

test('a delivery child that hangs is killed with what it started, and its delivery deferred', async (t) => {
  if (!ROOT) {
    t.is(spawnSync(process.execPath, [MAIN, 'lspawn', '0']).status, 100);
    return;
  }
  t.timeout(60_000);
  const sys = systemAccount();
  const sysHome = join(sys.home, `qmta-hang-${process.pid}-${Date.now()}`);
  mkdirSync(sysHome);
  // The program leaves a job running and stops its own qmail-local: a hung child.
  writeFileSync(join(sysHome, '.qmail-hang'), '|sleep 300 & echo $! > "$HOME/job-pid"; echo $PPID > "$HOME/child-pid"; kill -STOP $PPID\n');
  execFileSync('chown', ['-R', `${sys.uid}:${sys.gid}`, sysHome]);
  t.teardown(() => spawnSync('rm', ['-rf', sysHome]));
  const owner = await defaultOwner();
  const message = join(tempDir(t), 'message');
  writeFileSync(message, 'Subject: hang\n\nx\n');
  chownSync(message, owner.uid, owner.gid);
  const pair = socketPair('seqpacket');
  if (pair.kind !== 'ok') return t.fail(pair.text);
  const [control, theirs] = pair.value;
  // A margin of 1 s instead of the daemon's 60 (DELIVERY_MARGIN_S): the same code path.
  const helper = spawn(process.execPath, [MAIN, 'lspawn', String(owner.uid), '1'], { stdio: ['ignore', 'ignore', 'pipe', theirs] });
  closeFd(theirs);
  let stderr = '';
  helper.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((r) => helper.once('exit', r));
  const req = encodeLspawnRequest({ kind: 'local', uid: sys.uid, gid: sys.gid, user: SYS, home: sysHome, local: `${SYS}-hang`, dash: '-', ext: 'hang', domain: 'mx.example', sender: 'a@b.c', timeoutMs: 1000 });
  if (req.kind !== 'ok') return t.fail(req.text);
  const fd = openSync(message, 'r');
  const started = Date.now();
  const answer = JSON.parse(await ask(control, req.value, fd)) as { outcome: unknown };
  closeSync(fd);
  const took = Date.now() - started;
  // The program time limit (1 s) plus the helper's margin (1 s).
  t.deepEqual(answer.outcome, { kind: 'temp', status: '4.3.0', text: `the delivery as ${SYS} ran longer than 2 seconds: killed.` });
  t.true(took >= 2000 && took < 30_000, `answered after ${took} ms`);
  const [child, job] = ['child-pid', 'job-pid'].map((f) => Number(readFileSync(join(sysHome, f), 'utf8')));
  t.true(await waitFor(() => gone(child!)), 'the hung qmail-local is gone');
  t.true(await waitFor(() => gone(job!)), 'and so is the job its program left running');
  closeFd(control);
  t.is(await exited, 0);
  t.regex(stderr, /qmta lspawn: the delivery as \S+ ran longer than 2 seconds: killed\. \(#4\.3\.0\)/, 'the kill is logged');
  t.notRegex(stderr, /killed only the process group/);
});
