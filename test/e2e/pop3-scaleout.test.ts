// Scale-out: two POP3 servers (two homes, each with its own users/ and control/) over one
// shared mail store, mail written into the store at the same time, a client reading and
// deleting through either server. Nothing may be lost or duplicated.
// 1. in-process: two startPop3d instances, maildir writers from crates/mailbox;
// 2. processes: two `qmta start` daemons, each delivering through its own queue
//    (mail queued with `qmta inject`), each with its own POP3 port.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { freePorts } from '../helpers/net.js';
import { deliverMaildir } from '../../ts/native.js';
import { startPop3d } from '../../ts/pop3d/index.js';
import { pop3DepsFromHome } from '../../ts/pop3d/home-deps.js';
import { hashPassword } from '../../ts/users/passwd.js';
import { RawClient } from './pop3-harness.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A qmta home whose user carol lives in the shared store. */
async function makeHome(dir: string, store: string, control: Record<string, string>): Promise<string> {
  mkdirSync(join(dir, 'users'), { recursive: true });
  mkdirSync(join(dir, 'control'), { recursive: true });
  const { uid, gid } = await defaultOwner(); // as `qmta user add` would: never root
  writeFileSync(join(dir, 'users', 'assign'), `=carol:carol:${uid}:${gid}:${join(store, "carol")}:::\n.\n`);
  writeFileSync(join(dir, 'users', 'passwd'), `carol:${await hashPassword('shared pw')}\n`, { mode: 0o600 });
  for (const [name, value] of Object.entries(control)) writeFileSync(join(dir, 'control', name), `${value}\n`);
  return dir;
}

interface Tally {
  readonly seen: string[];
  inUse: number;
  sessions: number;
}

/** One session through `port`: retrieve and delete everything; false when refused IN-USE. */
async function drain(port: number, tally: Tally): Promise<number> {
  const c = await RawClient.open(port);
  await c.line();
  await c.cmd('USER carol');
  const r = (await c.cmd('PASS shared pw')) ?? '';
  if (r.startsWith('-ERR [IN-USE]')) {
    tally.inUse++;
    await c.cmd('QUIT');
    return -1;
  }
  if (!r.startsWith('+OK')) throw new Error(`login: ${r}`);
  tally.sessions++;
  const list = await c.multi('LIST');
  for (const entry of list.lines) {
    const n = entry.split(' ')[0];
    const retr = await c.multi(`RETR ${n}`);
    const seq = retr.lines.find((l) => l.startsWith('X-Seq: '));
    if (!seq) throw new Error(`message without X-Seq: ${retr.status} ${retr.lines.slice(0, 5).join('|')}`);
    tally.seen.push(seq.slice(7));
    await c.cmd(`DELE ${n}`);
  }
  if ((await c.cmd('QUIT')) !== '+OK bye') throw new Error('QUIT failed');
  return list.lines.length;
}

/** A reader alternating between ports until `done()` and a last session finds nothing. */
async function reader(ports: number[], tally: Tally, done: () => boolean, start: number): Promise<void> {
  for (let i = start; ; i++) {
    const finished = done();
    const got = await drain(ports[i % ports.length] as number, tally);
    if (finished && got === 0) return;
    await sleep(got < 0 ? 5 : got === 0 ? 100 : 20);
  }
}

function check(t: Parameters<typeof tempDir>[0], tally: Tally, expected: string[]): void {
  const sorted = [...tally.seen].sort();
  t.is(new Set(sorted).size, sorted.length, 'a message was retrieved twice');
  t.deepEqual(sorted, [...expected].sort());
  t.log(`${expected.length} messages, ${tally.sessions} sessions, ${tally.inUse} refused [IN-USE]`);
}

test('two pop3d over one store while maildir writers deliver: nothing lost or duplicated', async (t) => {
  const root = tempDir(t);
  const store = join(root, 'store');
  mkdirSync(join(store, 'carol'), { recursive: true });
  const body = join(root, 'body');
  writeFileSync(body, 'Subject: scale\n\nhello\n.dot\n');
  const servers = [];
  for (const name of ['a', 'b']) {
    const home = await makeHome(join(root, name), store, {});
    const s = await startPop3d({ listen: ['127.0.0.1:0'], plaintext: true, badPasswordDelayMs: 10 }, pop3DepsFromHome(home));
    t.teardown(() => s.close());
    servers.push(s);
  }
  const ports = servers.map((s) => s.addresses[0]?.port as number);
  const expected: string[] = [];
  let writing = 2;
  const writer = async (name: string): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const seq = `${name}-${i}`;
      const r = await deliverMaildir({ maildir: join(store, 'carol', 'Maildir'), headers: Buffer.from(`X-Seq: ${seq}\n`), bodyPath: body });
      if (r.kind !== 'ok') throw new Error(`delivery: ${r.text}`);
      expected.push(seq);
      if (i % 10 === 0) await sleep(5);
    }
    writing--;
  };
  const tally: Tally = { seen: [], inUse: 0, sessions: 0 };
  await Promise.all([writer('w1'), writer('w2'), reader(ports, tally, () => writing === 0, 0), reader(ports, tally, () => writing === 0, 1)]);
  check(t, tally, expected);
});

function run(args: string[], input?: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.end(input ?? '');
  });
}

async function waitListening(port: number, daemon: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (daemon.exitCode !== null) throw new Error(`qmta start exited ${daemon.exitCode}`);
    // A POP3 greeting, not just a listener: a port taken by something else is a failure.
    const greeting = await RawClient.open(port).then(async (c) => { const g = await c.line(); c.drop(); return g; }, () => undefined);
    if (greeting !== undefined) {
      if (greeting.startsWith('+OK')) return;
      throw new Error(`port ${port} answers ${greeting}, not POP3`);
    }
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

test('two qmta start daemons, each delivering via its own queue into one store, POP3 through either', async (t) => {
  const root = tempDir(t);
  const store = join(root, 'store');
  mkdirSync(join(store, 'carol'), { recursive: true });
  // The store belongs to the account the daemons deliver as (qmta's, started as root).
  const { uid, gid } = await defaultOwner();
  for (const d of [store, join(store, 'carol')]) chownSync(d, uid, gid);
  // Every listener on a port picked up front: a daemon's port-0 listener could otherwise
  // take the other daemon's POP3 port before it binds.
  const picked = await freePorts(6);
  const ports = picked.slice(0, 2);
  const homes: string[] = [];
  for (const [i, name] of ['a', 'b'].entries()) {
    homes.push(await makeHome(join(root, name), store, {
      me: `${name}.example.test`, locals: 'example.test', pop3listen: `127.0.0.1:${ports[i]}`, pop3plaintext: '1',
      smtplisten: `127.0.0.1:${picked[2 + 2 * i]}`, submissionlisten: `127.0.0.1:${picked[3 + 2 * i]}`,
    }));
  }
  const daemons = homes.map((home) => spawn(process.execPath, [MAIN, '--home', home, 'start'], { stdio: 'ignore' }));
  t.teardown(() => daemons.forEach((d) => d.kill('SIGTERM')));
  await Promise.all(ports.map((p, i) => waitListening(p, daemons[i] as ChildProcess)));
  const expected: string[] = [];
  let injecting = 2;
  const injector = async (home: string, name: string): Promise<void> => {
    for (let i = 0; i < 15; i++) {
      const seq = `${name}-${i}`;
      const code = await run(['--home', home, 'inject', 'carol@example.test'], `X-Seq: ${seq}\nSubject: via ${name}\n\nbody ${seq}\n`);
      if (code !== 0) throw new Error(`inject exited ${code}`);
      expected.push(seq);
    }
    injecting--;
  };
  const tally: Tally = { seen: [], inUse: 0, sessions: 0 };
  // Queued mail reaches the store a moment after inject returns: keep reading until
  // every expected message has been seen (bounded by ava's timeout), then once more.
  const done = () => injecting === 0 && tally.seen.length >= expected.length;
  await Promise.all([injector(homes[0] as string, 'qa'), injector(homes[1] as string, 'qb'),
    reader(ports, tally, done, 0), reader(ports, tally, done, 1)]);
  check(t, tally, expected);
});
