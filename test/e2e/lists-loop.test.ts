// Loops across two qmta instances (a.example and b.example, wired to each other by their
// remote delivery): a plain forwarding loop is stopped by qmail-local's Delivered-To check,
// and a loop between two lists is stopped by the List-Id check of `qmta list post`.

import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { createMta, type Mta, type RemoteDelivery, type RemoteRequest } from '../../ts/index.js';
import { ok, temp } from '../../ts/outcome.js';
import { addSubscribers } from '../../ts/lists/create.js';
import { listState } from '../../ts/lists/store.js';
import { runNode } from './inject-process.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;

interface Outside { sender: string; recipients: readonly string[]; body: string }

/** Two instances; mail for the other's domain is handed to it, anything else is kept. */
async function pair(t: ExecutionContext): Promise<{ a: Mta; b: Mta; homes: Record<string, string>; outside: Outside[] }> {
  const peers: Record<string, Mta> = {};
  const homes: Record<string, string> = {};
  const outside: Outside[] = [];
  const remote: RemoteDelivery = {
    async deliver(req: RemoteRequest) {
      const body = readFileSync(req.bodyPath);
      const peer = peers[req.domain];
      if (!peer) {
        outside.push({ sender: req.sender, recipients: req.recipients, body: body.toString() });
        return req.recipients.map((address) => ({ address, outcome: ok('250 ok') }));
      }
      try {
        await peer.inject({ from: req.sender, to: req.recipients, message: body });
        return req.recipients.map((address) => ({ address, outcome: ok(`${req.domain} accepted`) }));
      } catch (err) {
        return req.recipients.map((address) => ({ address, outcome: temp('4.3.0', String(err)) }));
      }
    },
  };
  for (const domain of ['a.example', 'b.example']) {
    const home = tempDir(t);
    mkdirSync(join(home, 'control'), { recursive: true });
    writeFileSync(join(home, 'control', 'me'), `${domain}\n`);
    writeFileSync(join(home, 'control', 'locals'), `${domain}\n`);
    const mta = await createMta({ home, log: false, remote });
    t.teardown(() => mta.stop(2000));
    peers[domain] = mta;
    homes[domain] = home;
  }
  await peers['a.example']?.start();
  await peers['b.example']?.start();
  return { a: peers['a.example'] as Mta, b: peers['b.example'] as Mta, homes, outside };
}

/** Mail between instances and list programs may take a while on a loaded machine. */
const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => until(what, cond, 50_000);

test('a forwarding loop between two qmta instances is stopped by Delivered-To', async (t) => {
  const { a, homes, outside } = await pair(t);
  writeFileSync(join(homes['a.example'] as string, 'alias', '.qmail-fwd'), '&fwd@b.example\n');
  writeFileSync(join(homes['b.example'] as string, 'alias', '.qmail-fwd'), '&fwd@a.example\n');
  await a.inject({ from: 'poster@else.example', to: ['fwd@a.example'], message: Buffer.from('Subject: round and round\n\nx\n') });
  await waitFor('the bounce to the poster', () => outside.some((o) => o.recipients.includes('poster@else.example')));
  const bounce = outside.find((o) => o.recipients.includes('poster@else.example'));
  t.is(bounce?.sender, '');
  t.regex(bounce?.body ?? '', /looping/i);
  t.regex(bounce?.body ?? '', /Delivered-To: fwd@b\.example\n/);
});

test('two lists subscribed to each other: the List-Id check ends the loop', async (t) => {
  const { a, homes, outside } = await pair(t);
  for (const [domain, other] of [['a.example', 'b.example'], ['b.example', 'a.example']] as const) {
    const home = homes[domain] as string;
    const made = await runNode(MAIN, ['--home', home, 'list', 'create', 'team', '--owner', `boss@${domain}`], '', {});
    t.is(made.code, 0, made.stderr);
    t.is((await addSubscribers(listState(join(home, 'alias'), 'team'), [`team@${other}`, `reader@outside-${domain}`])).kind, 'ok');
  }
  await a.inject({ from: 'poster@else.example', to: ['team@a.example'], message: Buffer.from('Subject: hello both\n\nhi\n') });
  await waitFor('both lists to reach their outside readers', () =>
    ['reader@outside-a.example', 'reader@outside-b.example'].every((r) => outside.some((o) => o.recipients.includes(r))));
  // Back at a.example the post carries a's List-Id: refused (#5.4.6); the refusal bounces to
  // b's VERP return address, where b's list counts a bounce for its subscriber team@a.example.
  const bBounces = join(homes['b.example'] as string, 'alias', 'lists', 'team', 'bounces');
  await waitFor("b's list to count the refusal", () => readdirSync(bBounces).length === 1);
  await a.idle();
  const copies = outside.filter((o) => o.recipients.includes('reader@outside-a.example'));
  t.is(copies.length, 1);
  t.regex(copies[0]?.body ?? '', /List-Id: <team\.a\.example>/);
});
