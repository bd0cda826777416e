// A private Postfix instance on loopback, delivering to maildirs: the performance peer the
// SMTP benchmark compares qmta with in the same run (issue 4).
//
// Interface: `startPostfixPeer({ users, domain, dir?, log?, processLimit? })` -> { port,
// root, maildirRoot, users, addresses, masterPid, countDelivered(), stop({ remove? }) };
// `freePort()`; `waitForPort(port, deadline)` (resolves on the first greeting byte).
// users is a count (user1..userN) or a list of names; every <name>@<domain> has a maildir
// <maildirRoot>/<name>/Maildir/.
// MUST RUN AS ROOT: Postfix's master runs as root and drops to the postfix user; it
// installs Debian package postfix when missing (bench/peer-install.ts).
// Failures: not root, postfix failing to start, or the port not answering within 20 s
// -> throws with Postfix's own message (and the tail of its maillog).
// Guarantees: its own config, queue and data directories in a temp directory (on the same
// disk as the system temp dir unless `dir` says where), listening on 127.0.0.1:<free
// port> only; no DNS; no artificial throttling (bench/peer-postfix-config.ts). stop()
// stops master and its children (SIGKILL after 10 s), waits for them, and removes the
// directory unless { remove: false }; it is idempotent (the first call's choice holds), so
// tests call it from t.teardown. Removing 20,000 delivered files takes about 15 s here, and
// right after mass deletions ext4 creates files slowly for minutes (DESIGN.md): a
// benchmark comparing servers in one run keeps the files (remove: false) and deletes them
// after its last measurement. A process that dies without calling stop() leaves the
// instance running: `postfix -c <root>/etc stop` ends it.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needPostfix, type PostfixTools } from './peer-install.js';
import { mailboxMap, mainCf, masterCf } from './peer-postfix-config.js';
import { maildirCounter } from './load-maildir.js';
import { processTree } from './load-proc.js';

export interface PostfixPeerOptions {
  /** How many users (user1..userN) or their names. */
  readonly users: number | readonly string[];
  readonly domain: string;
  /** Parent directory of the instance (default: the system temp dir). */
  readonly dir?: string;
  /** Log every message to <dir>/maillog through postlogd (default true, as in production). */
  readonly log?: boolean;
  /** default_process_limit (default 200). */
  readonly processLimit?: number;
}

export interface PostfixPeer {
  readonly port: number;
  readonly root: string;
  readonly maildirRoot: string;
  readonly users: readonly string[];
  readonly addresses: readonly string[];
  /** Postfix's master; every other Postfix process is its child. */
  readonly masterPid: number;
  /** Messages in the users' maildirs (new/ and cur/). */
  countDelivered(): number;
  /** Stops the instance; removes its directory unless remove is false. */
  stop(opts?: { readonly remove?: boolean }): Promise<void>;
}

/** A free loopback TCP port (bound and released: another process could take it in between). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function userNames(users: number | readonly string[]): string[] {
  return typeof users === 'number' ? Array.from({ length: users }, (_, i) => `user${i + 1}`) : [...users];
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function writeInstance(root: string, port: number, opts: PostfixPeerOptions, users: string[], tools: PostfixTools): void {
  // The nobody user owns the mailboxes: virtual(8) refuses root and needs uid >= 100.
  const owner = userIds('nobody');
  const daemon = userIds('postfix');
  for (const d of ['etc', 'queue', 'data', 'mail']) mkdirSync(join(root, d));
  chmodSync(root, 0o755);
  chownSync(join(root, 'mail'), owner.uid, owner.gid);
  chownSync(join(root, 'data'), daemon.uid, daemon.gid);
  const settings = {
    root, domain: opts.domain, mailUid: owner.uid, mailGid: owner.gid,
    log: opts.log ?? true, processLimit: opts.processLimit ?? 200,
  };
  writeFileSync(join(root, 'etc', 'main.cf'), mainCf(settings));
  writeFileSync(join(root, 'etc', 'master.cf'), masterCf(port));
  writeFileSync(join(root, 'etc', 'vmailbox'), mailboxMap(users, opts.domain));
  run(tools.postmap, ['-c', join(root, 'etc'), `hash:${join(root, 'etc', 'vmailbox')}`]);
}

/** Runs a Postfix command; a failure throws with the command's own stderr. */
function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`${cmd} ${args.join(' ')}: ${stderr || (e as Error).message}`);
  }
}

function postfix(tools: PostfixTools, root: string, command: string): void {
  run(tools.postfix, ['-c', join(root, 'etc'), command]);
}

function maillogTail(root: string): string {
  const file = join(root, 'maillog');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : '(no maillog)';
}

export function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect(port, '127.0.0.1');
      s.once('data', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`postfix peer: nothing answers on 127.0.0.1:${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Whether `pid` still runs: a zombie (exited, never reaped) does not. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function stopInstance(tools: PostfixTools, root: string, masterPid: number, remove: boolean): Promise<void> {
  const tree = processTree([masterPid]);
  try {
    postfix(tools, root, 'stop');
  } catch {
    // Already stopped, or master wedged: the kill below covers both.
  }
  const deadline = Date.now() + 10_000;
  while (tree.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL');
  if (remove) rmSync(root, { recursive: true, force: true });
}

/** Starts the peer; see the header. Must run as root. */
export async function startPostfixPeer(opts: PostfixPeerOptions): Promise<PostfixPeer> {
  if (process.getuid?.() !== 0) throw new Error('the Postfix peer must run as root (its master runs as root)');
  const tools = needPostfix();
  const users = userNames(opts.users);
  const root = mkdtempSync(join(opts.dir ?? tmpdir(), 'postfix-peer-'));
  const port = await freePort();
  try {
    writeInstance(root, port, opts, users, tools);
    postfix(tools, root, 'start');
    await waitForPort(port, Date.now() + 20_000);
  } catch (e) {
    const why = `${(e as Error).message}\n${maillogTail(root)}`;
    try { postfix(tools, root, 'stop'); } catch { /* never started */ }
    rmSync(root, { recursive: true, force: true });
    throw new Error(`postfix peer did not start: ${why}`);
  }
  const masterPid = Number(readFileSync(join(root, 'queue', 'pid', 'master.pid'), 'utf8').trim());
  const maildirRoot = join(root, 'mail');
  let stopping: Promise<void> | undefined;
  return {
    port, root, maildirRoot, users, masterPid,
    addresses: users.map((u) => `${u}@${opts.domain}`),
    countDelivered: maildirCounter(users.map((u) => join(maildirRoot, u, 'Maildir'))),
    stop: (o) => (stopping ??= stopInstance(tools, root, masterPid, o?.remove ?? true)),
  };
}
