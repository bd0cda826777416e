// SIGKILL under SMTP load, with delivery at accept time: 10 clients send over raw SMTP
// sockets (one connection a message, as smtp-source does) to 20 maildir users, every tenth
// message also to a forward (&address: queued, delivered later by the scheduler); qmta is
// killed with SIGKILL twice in the middle of the load and started again. Every message
// whose 250 a client received must be in each of its recipients' maildirs afterwards (zero
// lost); duplicates are counted and reported (at-least-once allows them).

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { freePorts } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

const USERS = 20;
const CLIENTS = 10;
const KILLS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One message over a fresh connection; resolves true when its DATA got a 250. */
function sendOne(port: number, to: string[], token: string): Promise<boolean> {
  const script = ['EHLO crash.test', 'MAIL FROM:<load@far.example>', ...to.map((r) => `RCPT TO:<${r}>`), 'DATA',
    `Subject: ${token}\r\nX-Token: ${token}\r\n\r\nbody of ${token}\r\n.`, 'QUIT'];
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let step = -1;
    let acked = false;
    s.setTimeout(20_000, () => s.destroy());
    s.on('error', () => resolve(acked));
    s.on('close', () => resolve(acked));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line[3] === '-') continue;
        if (!/^[23]/.test(line)) return s.destroy();
        if (step === script.length - 2 && line.startsWith('250')) acked = true;
        const next = script[++step];
        if (next === undefined) return s.end();
        s.write(`${next}\r\n`);
      }
    });
  });
}

function start(home: string): ChildProcess {
  return spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: 'ignore' });
}

/** Token -> the number of copies in each maildir. */
function census(home: string): Map<string, Map<string, number>> {
  const seen = new Map<string, Map<string, number>>();
  for (let u = 0; u < USERS; u++) {
    const dir = join(home, 'mail', `u${u}`, 'Maildir', 'new');
    for (const f of readdirSync(dir)) {
      const token = /\nX-Token: (\S+)/.exec(readFileSync(join(dir, f), 'latin1'))?.[1];
      if (!token) continue;
      const per = seen.get(token) ?? new Map<string, number>();
      per.set(`u${u}`, (per.get(`u${u}`) ?? 0) + 1);
      seen.set(token, per);
    }
  }
  return seen;
}

test('no acknowledged message is lost when qmta is killed with SIGKILL under SMTP load', async (t) => {
  t.timeout(300_000);
  const home = join(tempDir(t), 'h');
  const [port] = await freePorts(1);
  mkdirSync(join(home, 'control'), { recursive: true });
  const control = { smtplisten: `127.0.0.1:${port}`, submissionlisten: '127.0.0.1:0', pop3listen: '127.0.0.1:0', locals: 'localhost', maxconnectionsperip: '100' };
  for (const [f, v] of Object.entries(control)) writeFileSync(join(home, 'control', f), `${v}\n`);
  for (let u = 0; u < USERS; u++) t.is((await runQmta(['--home', home, 'user', 'add', `u${u}`])).code, 0);
  writeFileSync(join(home, 'mail', 'u0', '.qmail-fwd'), '&u1@localhost\n');
  let child = start(home);
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const acked = new Map<string, string[]>();
  let sent = 0;
  let running = true;
  const client = async (c: number) => {
    for (let n = 0; running; n++) {
      const token = `t${c}x${n}`;
      const to = [`u${(c + n) % USERS}@localhost`];
      if (n % 10 === 0) to.push('u0-fwd@localhost');
      sent++;
      if (await sendOne(port!, to, token)) acked.set(token, to);
      else await sleep(50);
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
  for (let k = 0; k < KILLS; k++) {
    const before = acked.size;
    await until('messages flowing', () => acked.size >= before + 150, 120_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await sleep(300);
    child = start(home);
  }
  const last = acked.size;
  await until('messages flowing after the last restart', () => acked.size >= last + 100, 120_000);
  running = false;
  await Promise.all(clients);
  // Deliveries cut short by a kill wait for their retry time: make them due now (SIGALRM).
  // Drained: nothing listed and nothing waiting in todo/ (a commit cut short by a kill
  // leaves a body in mess/ that qmail-qstat counts until the 36-hour cleanup removes it).
  await until('the queue drained', async () => {
    await runQmta(['--home', home, 'queue', 'run']);
    const [list, stat] = [await runQmta(['--home', home, 'queue']), await runQmta(['--home', home, 'queue', 'stat'])];
    return list.stdout.trim() === '' && /not yet preprocessed: 0\b/.test(stat.stdout);
  }, 120_000, 2_000);

  const seen = census(home);
  let lost = 0;
  let duplicates = 0;
  for (const [token, to] of acked) {
    const per = seen.get(token);
    // The forward's copy lands in u1's maildir (qmail: &u1 re-injects it).
    const expected = new Map<string, number>();
    for (const r of to) {
      const user = r.startsWith('u0-fwd') ? 'u1' : r.slice(0, r.indexOf('@'));
      expected.set(user, (expected.get(user) ?? 0) + 1);
    }
    for (const [user, want] of expected) {
      const copies = per?.get(user) ?? 0;
      lost += Math.max(0, want - copies);
      duplicates += Math.max(0, copies - want);
    }
  }
  t.log(`${sent} messages sent, ${acked.size} acknowledged, ${KILLS} SIGKILLs: ${lost} lost, ${duplicates} duplicate copies`);
  t.true(acked.size > 400);
  t.is(lost, 0);
});
