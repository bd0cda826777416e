// ETRN (RFC 1985) on the SMTP service as `qmta start` wires it (ts/smtpd/service.ts):
// mail for a passive (dial-up) domain waits in its maildir (ts/flush's setup), a client
// says ETRN and the maildir is sent on to an smtp-server peer on loopback, each message
// leaving the maildir after the peer's 250. Plus every refusal the service makes.

import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openConfig } from '../../ts/config/index.js';
import { ensureHome } from '../../ts/home/index.js';
import { createMta } from '../../ts/index.js';
import { openQueue } from '../../ts/queue/index.js';
import { smtpdSettings, smtpService } from '../../ts/smtpd/service.js';
import { loadAssign } from '../../ts/users/assign.js';
import { addUser, setPassword } from '../../ts/users/manage.js';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';
import { smtpPeer } from './remote-peers.js';
import { RawClient } from './smtp-harness.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Site {
  readonly home: string;
  readonly smtp: number;
  files(): string[];
}

/** A home whose dialup.example mail waits in alias/dialup/Maildir/ (as test/e2e/flush), with `control` files added. */
async function site(t: ExecutionContext, users: string[], control: Record<string, string>): Promise<Site> {
  const home = join(tempDir(t), 'home');
  const made = await ensureHome(home);
  if (made.kind !== 'ok') throw new Error(made.text);
  const smtp = await freePort();
  const files = {
    me: 'mx.example', locals: 'mx.example', virtualdomains: 'dialup.example:dialup', timeoutremote: '5',
    smtplisten: `127.0.0.1:${smtp}`, submissionlisten: `127.0.0.1:${await freePort()}`, ...control,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(home, 'control', name), `${text}\n`);
  writeFileSync(join(home, 'alias', '.qmail-dialup-default'), './dialup/Maildir/\n');
  const maildir = join(home, 'alias', 'dialup', 'Maildir');
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, d), { recursive: true });
  const mta = await createMta({ home, log: false });
  await mta.start();
  for (const u of users) await mta.inject({ from: 'a@far.example', to: [`${u}@dialup.example`], message: Buffer.from(`Subject: ${u}\n\nhello ${u}\n`) });
  await new Promise((r) => setTimeout(r, 20));
  await mta.idle();
  await mta.stop(2000);
  return { home, smtp, files: () => ['new', 'cur'].flatMap((d) => readdirSync(join(maildir, d))) };
}

/** Starts the SMTP service of the site's home, as `qmta start` does. */
async function service(t: ExecutionContext, home: string): Promise<void> {
  const config = await openConfig(home);
  const table = await loadAssign(home);
  const queue = openQueue(join(home, 'queue'));
  if (config.kind !== 'ok' || table.kind !== 'ok' || queue.kind !== 'ok') throw new Error('home not usable');
  const running = await smtpService({ home, config: config.value, queue: queue.value, users: () => table.value, log: quiet, enqueued: () => undefined });
  if (running.kind !== 'ok') throw new Error(running.text);
  t.teardown(() => running.value.stop());
}

async function client(t: ExecutionContext, port: number): Promise<(line: string) => Promise<string>> {
  const c = await RawClient.open(port);
  t.teardown(() => c.close());
  await c.reply();
  return async (line) => {
    c.send(`${line}\r\n`);
    return c.reply();
  };
}

test('ETRN from a relay client: advertised, 250, the messages go to the client\'s address and leave the maildir', async (t) => {
  const peer = await smtpPeer(t);
  // No host in the route: the asking client's IP (127.0.0.1), here on the peer's port.
  const s = await site(t, ['joe', 'ann', 'bob'], { etrnroutes: `dialup.example::${peer.port}` });
  t.is(s.files().length, 3);
  await service(t, s.home);
  const say = await client(t, s.smtp);
  t.regex(await say('EHLO dialup.example'), /\n250[- ]ETRN(\n|$)/);
  t.is(await say('ETRN Dialup.Example'), '250 2.0.0 OK, queuing for node dialup.example started');
  t.true(await waitFor(() => s.files().length === 0), 'the maildir empties');
  t.deepEqual(peer.received.map((m) => m.to[0]).sort(), ['ann@dialup.example', 'bob@dialup.example', 'joe@dialup.example']);
  t.is(peer.received.find((m) => m.to[0] === 'joe@dialup.example')!.data.toString(), 'Subject: joe\r\n\r\nhello joe\r\n');
  t.is(await say('ETRN dialup.example'), '251 2.0.0 OK, no messages waiting for node dialup.example');
  t.regex(await say('QUIT'), /^221 /);
});

test('ETRN refusals: unknown domain 459, no passive queue 459, bad syntax 501, @ form 504, in a transaction 503', async (t) => {
  const s = await site(t, ['joe'], { etrnroutes: 'dialup.example:127.0.0.1:9\nnopassive.example:' });
  await service(t, s.home);
  const say = await client(t, s.smtp);
  t.is(await say('ETRN dialup.example'), '503 5.5.1 send EHLO or HELO first');
  await say('EHLO c');
  t.is(await say('ETRN elsewhere.example'), '459 4.7.1 Node elsewhere.example not allowed: not a passive domain here');
  t.is(await say('ETRN nopassive.example'), '459 4.7.1 Node nopassive.example not allowed: no passive queue');
  t.is(await say('ETRN'), '501 5.5.4 syntax: ETRN domain');
  t.is(await say('ETRN dialup..example'), '501 5.5.4 syntax: ETRN domain');
  t.is(await say('ETRN @dialup.example'), '504 5.5.4 ETRN @name not supported, only ETRN domain');
  t.regex(await say('MAIL FROM:<a@far.example>'), /^250 /);
  t.is(await say('ETRN dialup.example'), '503 5.5.1 ETRN inside a mail transaction');
  t.deepEqual(s.files().length, 1, 'nothing was flushed');
});

test('ETRN from a client that is neither a relay client nor authenticated: 530; after AUTH it is allowed', async (t) => {
  const peer = await smtpPeer(t);
  const s = await site(t, ['joe'], {
    etrnroutes: `dialup.example:127.0.0.1:${peer.port}`, relayclients: '192.0.2.1', authplaintext: '1',
  });
  t.is((await addUser(s.home, 'dial')).kind, 'ok');
  t.is((await setPassword(s.home, 'dial', 'pw-of-dial')).kind, 'ok');
  await service(t, s.home);
  const say = await client(t, s.smtp);
  await say('EHLO dialup.example');
  t.is(await say('ETRN dialup.example'), '530 5.7.0 authentication required for ETRN');
  t.is(s.files().length, 1);
  t.regex(await say(`AUTH PLAIN ${Buffer.from('\0dial\0pw-of-dial').toString('base64')}`), /^235 /);
  t.is(await say('ETRN dialup.example'), '250 2.0.0 OK, queuing for node dialup.example started');
  t.true(await waitFor(() => s.files().length === 0));
  t.deepEqual(peer.received.map((m) => m.to[0]), ['joe@dialup.example']);
});

test('without control/etrnroutes ETRN is neither advertised nor accepted (502)', async (t) => {
  const s = await site(t, [], {});
  await service(t, s.home);
  const say = await client(t, s.smtp);
  t.notRegex(await say('EHLO c'), /ETRN/);
  t.is(await say('ETRN dialup.example'), '502 5.5.1 command not implemented');
});

test('a malformed control/etrnroutes line is a clear configuration error', async (t) => {
  const home = join(tempDir(t), 'home');
  t.is((await ensureHome(home)).kind, 'ok');
  for (const bad of ['dialup.example\n', 'dialup.example:host:port\n']) {
    const c = await openConfig(home, { etrnroutes: bad });
    t.is(c.kind, 'temp');
    if (c.kind !== 'ok') t.regex(c.text, /etrnroutes.*line 1/);
  }
  const c = await openConfig(home, { etrnroutes: 'dialup.example:\nother.example:[::1]:2525\n' });
  if (c.kind !== 'ok') return t.fail(c.text);
  t.deepEqual(c.value.current().etrnroutes, [
    { domain: 'dialup.example', relay: '', port: undefined }, { domain: 'other.example', relay: '[::1]', port: 2525 },
  ]);
  t.deepEqual(smtpdSettings(c.value.current()).etrn, [
    { domain: 'dialup.example', port: 25 }, { domain: 'other.example', host: '::1', port: 2525 },
  ], 'no host: the asking client; brackets removed; port 25 by default');
});
