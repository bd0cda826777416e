// SRS end to end: a message forwarded by a dot-qmail `&address` line and by the `forward`
// helper leaves with an SRS0 sender that Debian's postsrsd (sharing the secret) reverses to
// the original sender, and postsrsd's own SRS0 addresses reverse here (the formats agree both
// ways); the bounce to our SRS address goes back to the original sender; a local sender and
// a list keep their senders; a forged bounce address is refused at RCPT.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { createMta } from '../../ts/index.js';
import { checkRecipient } from '../../ts/local/dot-qmail-check.js';
import { routeTable } from '../../ts/route/rewrite.js';
import { srsReverse } from '../../ts/srs/srs.js';
import { tableOf } from '../../ts/users/assign.js';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { recordingRemote } from '../helpers/remote.js';
import { until } from '../helpers/wait.js';
import { freePorts } from '../helpers/net.js';

const SECRET = 'shared-secret-for-the-srs-test';
const DOMAIN = 'fwd.test';

/** Debian's postsrsd on two loopback ports, with our secret and domain. */
async function postsrsd(t: ExecutionContext): Promise<{ forward: (a: string) => Promise<string>; reverse: (a: string) => Promise<string> }> {
  const bin = needCommand('postsrsd', 'postsrsd');
  const dir = tempDir(t);
  writeFileSync(join(dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  const [f, r] = await freePorts(2) as [number, number];
  const child = spawn(bin, [`-s${join(dir, 'secret')}`, `-d${DOMAIN}`, '-l127.0.0.1', '-4', `-f${f}`, `-r${r}`], { stdio: 'ignore' });
  t.teardown(() => { child.kill(); });
  const ask = (port: number) => (key: string) => tcpTable(port, key);
  await until('postsrsd to answer', () => ask(f)('x@y.test').then(() => true, () => false), 10_000);
  return { forward: ask(f), reverse: ask(r) };
}

/** One Postfix tcp_table lookup: "get KEY" -> "200 VALUE" (else the reply as an error). */
function tcpTable(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(port, '127.0.0.1');
    let got = '';
    s.on('error', reject);
    s.on('connect', () => s.write(`get ${encodeURIComponent(key)}\n`));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (!got.includes('\n')) return;
      s.destroy();
      const line = got.trim();
      if (line.startsWith('200 ')) resolve(decodeURIComponent(line.slice(4)));
      else reject(new Error(line));
    });
  });
}

async function forwardingHome(t: ExecutionContext) {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'), { recursive: true });
  mkdirSync(join(home, 'alias'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), `${DOMAIN}\n`);
  writeFileSync(join(home, 'control', 'locals'), `${DOMAIN}\n`);
  writeFileSync(join(home, 'control', 'srssecrets'), `${SECRET}\n`);
  writeFileSync(join(home, 'alias', '.qmail-joe'), '&joe@elsewhere.test\n');
  writeFileSync(join(home, 'alias', '.qmail-ann'), `|${process.execPath} ${new URL('../../ts/cli/main.js', import.meta.url).pathname} --home ${home} forward ann@elsewhere.test\n`);
  const { remote, sent } = recordingRemote();
  const mta = await createMta({ home, log: false, remote });
  t.teardown(() => mta.stop(2000));
  await mta.start();
  return { home, mta, sent };
}

test('forwards get an SRS0 sender that postsrsd reverses; postsrsd\'s SRS0 reverses here; the bounce goes home', async (t) => {
  const srsd = await postsrsd(t);
  const { mta, sent } = await forwardingHome(t);
  await mta.inject({ from: 'alice@origin.test', to: [`joe@${DOMAIN}`, `ann@${DOMAIN}`], message: Buffer.from('Subject: fwd\n\nhi\n') });
  await until('both forwards', () => sent.length === 2);
  for (const s of sent) {
    t.regex(s.sender, /^SRS0=[^=]{4}=[A-Z2-7]{2}=origin\.test=alice@fwd\.test$/);
    t.is(await srsd.reverse(s.sender), 'alice@origin.test', 'postsrsd reverses our address');
  }
  const theirs = await srsd.forward('bob@far.test');
  t.regex(theirs, /^SRS0=/);
  t.deepEqual(srsReverse(theirs.split('@')[0]!, { secrets: [SECRET], domain: DOMAIN }), { kind: 'ok', address: 'bob@far.test' });
  // The forward's bounce comes back to the SRS address and goes on to alice.
  await mta.inject({ from: '', to: [sent[0]!.sender], message: Buffer.from('Subject: failure notice\n\nno such user\n') });
  await until('the bounce to be sent on', () => sent.length === 3);
  t.deepEqual([sent[2]!.sender, sent[2]!.recipients], ['', ['alice@origin.test']]);
});

test('a local sender and a bounce keep their senders when forwarded', async (t) => {
  const { mta, sent } = await forwardingHome(t);
  await mta.inject({ from: `me@${DOMAIN}`, to: [`joe@${DOMAIN}`], message: Buffer.from('Subject: local\n\nx\n') });
  await mta.inject({ from: '', to: [`joe@${DOMAIN}`], message: Buffer.from('Subject: bounce\n\nx\n') });
  await until('both forwards', () => sent.length === 2);
  t.deepEqual(sent.map((s) => s.sender).sort(), ['', `me@${DOMAIN}`]);
});

test('RCPT refuses forged SRS bounce addresses (550 5.1.1) and accepts the real one', async (t) => {
  const { mta, sent, home } = await forwardingHome(t);
  await mta.inject({ from: 'alice@origin.test', to: [`joe@${DOMAIN}`], message: Buffer.from('Subject: fwd\n\nhi\n') });
  await until('the forward', () => sent.length === 1);
  const real = sent[0]!.sender;
  const deps = { route: routeTable({ envnoathost: DOMAIN, percenthack: [], locals: [DOMAIN], virtualdomains: [], srssecrets: [SECRET], srsdomain: DOMAIN }), users: tableOf([]), alias: { home: join(home, 'alias'), uid: 0, gid: 0 } };
  t.deepEqual(checkRecipient(real, deps), { kind: 'ok', value: true });
  t.deepEqual(checkRecipient(real.replace('=origin.test=', '=victim.test='), deps), { kind: 'ok', value: false });
  t.deepEqual(checkRecipient(`SRS0=abcd=AA=origin.test=alice@${DOMAIN}`, deps), { kind: 'ok', value: false });
});
