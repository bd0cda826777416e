// qmta as the SMTP benchmark runs it: `qmta start` in a child process on a fresh home with
// U users, the same way an administrator runs it, plus the delivery check of a run.
//
// Interface: `startQmtaServer({ users, domain, dir?, nodeArgs? })` -> { port, pid, root,
// home, addresses, maildirs, countDelivered(), stop(), remove() }; `checkDelivered(maildirs,
// expected, settleMs?)` -> { files, distinctIds, missingIds, exactlyOnce }.
// The home: control/me, locals and rcpthosts say <domain>; maxconnections and
// maxconnectionsperip are raised to 1000 (smtp-source opens every connection from
// 127.0.0.1, and the default of 20 per IP would refuse a 50-connection load); everything
// else is qmta's default (concurrencylocal 10, the log in HOME/log/qmta.log, every message
// fsync'd before its 250 and after its maildir write). Users user1..userU are added with
// ts/users (HOME/mail/userN/Maildir/). nodeArgs go to the node running qmta (e.g.
// --cpu-prof). With `embed`, qmta runs as an embedding instead (bench/smtp-e2e-embed.ts:
// createMta({ listen: true }), 'hooks' with a no-op handler at each hook point).
// Failures: the home or a user not created -> throws its text; qmta exiting before its
// SMTP port answers, or not answering within 20 s -> throws with the tail of its stderr.
// Guarantees: listens on 127.0.0.1 only (SMTP on a free port, submission and POP3 on
// ephemeral ones); stop() sends SIGTERM and waits for the exit (SIGKILL after 20 s) and is
// idempotent; remove() deletes the home (call it after the last measurement: mass
// deletions slow ext4 creates down, DESIGN.md).

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHome } from '../ts/home/index.js';
import { addUser } from '../ts/users/index.js';
import { maildirCounter } from './load-maildir.js';
import { freePort, waitForPort } from './peer-postfix.js';

const MAIN = new URL('../ts/cli/main.js', import.meta.url).pathname;
const EMBED = new URL('./smtp-e2e-embed.js', import.meta.url).pathname;

export interface QmtaServerOptions {
  readonly users: number;
  readonly domain: string;
  /** Parent directory of the home (default: the system temp dir). */
  readonly dir?: string;
  readonly nodeArgs?: readonly string[];
  /** Turns the metrics listener on (control/metricslisten 127.0.0.1:0): issue 17's on/off figure. */
  readonly metrics?: boolean;
  /** qmail's queue-first path (control/directmaildir 0): issue 14's A/B of delivery at accept time. */
  readonly queueFirst?: boolean;
  /** qmail-local's fsyncs (control/directsync fsync): the A/B of the syncfs group commit. */
  readonly eachFile?: boolean;
  /** Another build's CLI (its dist/ts/cli/main.js) instead of this one's: the A/B of a change. */
  readonly main?: string;
  /** Runs qmta as an embedding rather than `qmta start`: without hooks, or with a no-op one at each point. */
  readonly embed?: 'plain' | 'hooks';
}

export interface QmtaServer {
  readonly port: number;
  readonly pid: number;
  readonly root: string;
  readonly home: string;
  readonly addresses: readonly string[];
  readonly maildirs: readonly string[];
  countDelivered(): number;
  stop(): Promise<void>;
  remove(): void;
}

async function makeHome(home: string, o: QmtaServerOptions): Promise<string[]> {
  const made = await ensureHome(home);
  if (made.kind !== 'ok') throw new Error(made.text);
  const control: Record<string, string> = {
    me: o.domain, locals: o.domain, rcpthosts: o.domain, maxconnections: '1000', maxconnectionsperip: '1000',
    ...(o.metrics ? { metricslisten: '127.0.0.1:0' } : {}), ...(o.queueFirst ? { directmaildir: '0' } : {}),
    ...(o.eachFile ? { directsync: 'fsync' } : {}),
  };
  for (const [file, value] of Object.entries(control)) writeFileSync(join(home, 'control', file), `${value}\n`);
  const names = Array.from({ length: o.users }, (_, i) => `user${i + 1}`);
  for (const name of names) {
    const r = await addUser(home, name);
    if (r.kind !== 'ok') throw new Error(r.text);
  }
  return names;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the port greets; rejects if qmta exits first. */
function whenListening(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`qmta start exited with ${code}: ${stderr()}`));
    child.once('exit', onExit);
    waitForPort(port, Date.now() + 20_000).then(
      () => { child.off('exit', onExit); resolve(); },
      (e: unknown) => { child.off('exit', onExit); reject(new Error(`${(e as Error).message}: ${stderr()}`)); },
    );
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await gone;
  clearTimeout(killer);
}

/** Starts qmta on a fresh home; see the header. */
export async function startQmtaServer(o: QmtaServerOptions): Promise<QmtaServer> {
  const root = mkdtempSync(join(o.dir ?? tmpdir(), 'qmta-e2e-'));
  // Started as root, qmta runs as its own account, which must reach its home (mkdtemp: 0700).
  chmodSync(root, 0o755);
  const home = join(root, 'home');
  const names = await makeHome(home, o);
  const port = await freePort();
  const args = [...(o.nodeArgs ?? []), ...(o.embed
    ? [EMBED, '--home', home, '--smtp', `127.0.0.1:${port}`, ...(o.embed === 'hooks' ? ['--hooks'] : [])]
    : [o.main ?? MAIN, '--home', home, 'start', '--smtp', `127.0.0.1:${port}`, '--submission', '127.0.0.1:0', '--pop3', '127.0.0.1:0'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4096); });
  try {
    await whenListening(child, port, () => stderr.trim());
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  const maildirs = names.map((n) => join(home, 'mail', n, 'Maildir'));
  let stopping: Promise<void> | undefined;
  return {
    port, pid: child.pid ?? 0, root, home, maildirs,
    addresses: names.map((n) => `${n}@${o.domain}`),
    countDelivered: maildirCounter(maildirs),
    stop: () => (stopping ??= stopChild(child)),
    remove: () => rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }),
  };
}

export interface DeliveryCheck {
  /** Message files in new/ and cur/ of every maildir. */
  readonly files: number;
  /** Distinct Message-Id header values among them. */
  readonly distinctIds: number;
  /** Files without a Message-Id header. */
  readonly missingIds: number;
  readonly exactlyOnce: boolean;
}

function messageId(file: string): string | undefined {
  const head = readFileSync(file, 'latin1').split('\n\n', 1)[0] ?? '';
  return /^message-id:\s*(\S+)/im.exec(head)?.[1];
}

/**
 * Waits settleMs (a duplicate still in flight would land by then), then reads every
 * delivered file: exactly once means `expected` files carrying `expected` distinct
 * Message-Ids (smtp-source numbers its messages in each process: pid.connection.count).
 */
export async function checkDelivered(maildirs: readonly string[], expected: number, settleMs = 2000): Promise<DeliveryCheck> {
  await new Promise((r) => setTimeout(r, settleMs));
  const ids = new Set<string>();
  let files = 0;
  let missingIds = 0;
  for (const dir of maildirs) {
    for (const sub of ['new', 'cur']) {
      let names: string[] = [];
      try { names = readdirSync(join(dir, sub)); } catch { /* no delivery yet */ }
      for (const name of names) {
        files += 1;
        const id = messageId(join(dir, sub, name));
        if (id) ids.add(id);
        else missingIds += 1;
      }
    }
  }
  return { files, distinctIds: ids.size, missingIds, exactlyOnce: files === expected && ids.size === expected };
}
