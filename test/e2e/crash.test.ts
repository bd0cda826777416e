// Crash test: 2,000 messages to 50 local users are queued while qmta runs as a child
// process that is killed with SIGKILL three times at random moments and restarted. At the
// end every message is in every recipient's maildir at least once (zero lost); duplicates
// (deliveries in flight at a kill) are counted and reported.

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openQueue } from '../../ts/queue/index.js';
import { addUser } from '../../ts/users/index.js';
import { ensureHome } from '../../ts/home/index.js';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { queueWriter } from '../helpers/queue-writer.js';
import { until, waitFor } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const MESSAGES = 2000;
const USERS = 50;
const PER_MESSAGE = 3;
const KILLS = 3;
const INJECT_MS = 9000;

function startQmta(home: string, log: string[]): ChildProcess {
  const child = spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readPid(home: string): number | undefined {
  try {
    return Number(readFileSync(join(home, 'qmta.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

function recipientsOf(seq: number): string[] {
  const out = new Set<string>();
  for (let k = 0; out.size < PER_MESSAGE; k++) out.add(`u${(seq * 7 + k * 13) % USERS}`);
  return [...out];
}

test('no message is lost across three SIGKILLs of a running qmta', async (t) => {
  t.timeout(240_000);
  const home = join(tempDir(t), 'home');
  const created = await ensureHome(home);
  t.is(created.kind, 'ok');
  for (const f of ['smtplisten', 'submissionlisten', 'pop3listen']) writeFileSync(join(home, 'control', f), '127.0.0.1:0\n');
  for (let i = 0; i < USERS; i++) t.is((await addUser(home, `u${i}`)).kind, 'ok');
  const q = openQueue(join(home, 'queue'));
  if (q.kind !== 'ok') return t.fail(q.text);
  const queue = q.value; // read here; written as its owner (queueWriter), as qmta inject does
  const stderr: string[] = [];
  let child = startQmta(home, stderr);
  const owner = (await defaultOwner()).uid;
  await until('the queue migrated to the account', () => statSync(join(home, 'queue')).uid === owner, 60_000);
  const writer = queueWriter(t, home);
  const started = Date.now();

  // Inject from this process (like `qmta inject` run beside the daemon), 16 at a time,
  // paced over INJECT_MS so that every kill lands while qmta is busy.
  let next = 0;
  const injectOne = async (): Promise<void> => {
    while (next < MESSAGES) {
      const seq = next++;
      const due = started + (seq * INJECT_MS) / MESSAGES;
      if (due > Date.now()) await sleep(due - Date.now());
      const body = Buffer.from(`X-Seq: ${seq}\nSubject: crash ${seq}\n\nmessage ${seq}\n`);
      const r = await writer.add({ sender: 'a@far.example', recipients: recipientsOf(seq).map((u) => `${u}@localhost`) }, body);
      if (r.kind !== 'ok') throw new Error(`inject ${seq}: ${r.text}`);
    }
  };
  const injecting = Promise.all(Array.from({ length: 16 }, injectOne));

  for (let k = 0; k < KILLS; k++) {
    // The k-th kill at a random moment of the k-th third of the injection window.
    const at = started + ((k + Math.random()) * INJECT_MS) / KILLS;
    await sleep(Math.max(300, at - Date.now()));
    child.kill('SIGKILL');
    t.is((await exited(child)).signal, 'SIGKILL');
    t.log(`kill ${k + 1} at ${((Date.now() - started) / 1000).toFixed(1)} s, ${next} injected, queue ${JSON.stringify(queue.stats())}`);
    child = startQmta(home, stderr);
  }
  await injecting;
  const deadline = Date.now() + 150_000;
  // Done = nothing preprocessed or waiting in todo/. (A kill during a removal can leave a
  // body file without info/: qmail-clean's garbage, removed by recovery after 36 h.)
  while (Date.now() < deadline) {
    if (queue.listQueued().length === 0 && queue.listTodo().length === 0) break;
    await sleep(250);
  }
  t.log(`all delivered after ${((Date.now() - started) / 1000).toFixed(1)} s; queue ${JSON.stringify(queue.stats())}`);
  await waitFor(() => readPid(home) === child.pid, 20_000);
  child.kill('SIGTERM');
  const stopAt = Date.now();
  const end = await exited(child);
  t.is(end.code, 0, stderr.join(''));
  t.true(Date.now() - stopAt < 30_000);

  const seen = new Map<string, number>();
  for (let i = 0; i < USERS; i++) {
    const dir = join(home, 'mail', `u${i}`, 'Maildir', 'new');
    for (const f of readdirSync(dir)) {
      const m = /^X-Seq: (\d+)$/m.exec(readFileSync(join(dir, f), 'utf8'));
      if (m) seen.set(`${m[1]} u${i}`, (seen.get(`${m[1]} u${i}`) ?? 0) + 1);
    }
  }
  let lost = 0;
  let duplicates = 0;
  for (let seq = 0; seq < MESSAGES; seq++) {
    for (const u of recipientsOf(seq)) {
      const n = seen.get(`${seq} ${u}`) ?? 0;
      if (n === 0) lost++;
      duplicates += Math.max(0, n - 1);
    }
  }
  t.log(`${MESSAGES * PER_MESSAGE} deliveries expected: ${lost} lost, ${duplicates} duplicates`);
  t.is(lost, 0);
});
