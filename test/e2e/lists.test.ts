// Mailing lists end to end through a running qmta (createMta) with a scripted remote side:
// a list of 1,000 subscribers with VERP bounces from three of them, the subscription
// confirmation round trip, and loop refusal. The list programs run as real `|` lines.

import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { until } from '../helpers/wait.js';
import { createMta, type Mta, type RemoteDelivery, type RemoteRequest } from '../../ts/index.js';
import { ok, perm } from '../../ts/outcome.js';
import { addSubscribers } from '../../ts/lists/create.js';
import { listState, readSubscribers } from '../../ts/lists/store.js';
import { runNode } from './inject-process.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;
const HOST = 'lists.example.org';

interface Sent { sender: string; recipients: readonly string[]; body: string }

/** A remote side that accepts everything except `refuse`, and keeps what it got. */
function remote(refuse: ReadonlySet<string>, keepBodies: boolean): { delivery: RemoteDelivery; sent: Sent[] } {
  const sent: Sent[] = [];
  const delivery: RemoteDelivery = {
    async deliver(req: RemoteRequest) {
      sent.push({ sender: req.sender, recipients: req.recipients, body: keepBodies || sent.length === 0 ? readFileSync(req.bodyPath, 'utf8') : '' });
      return req.recipients.map((address) => ({
        address, outcome: refuse.has(address) ? perm('5.1.1', 'no mailbox here by that name') : ok('250 ok'),
      }));
    },
  };
  return { delivery, sent };
}

async function startList(t: ExecutionContext, r: RemoteDelivery, bounceLimit: number, extra: readonly string[] = []): Promise<{ home: string; mta: Mta }> {
  const home = tempDir(t);
  mkdirSync(join(home, 'control'), { recursive: true });
  writeFileSync(join(home, 'control', 'me'), `${HOST}\n`);
  writeFileSync(join(home, 'control', 'locals'), `${HOST}\n`);
  const mta = await createMta({ home, log: false, remote: r });
  t.teardown(() => mta.stop(2000));
  const made = await runNode(MAIN, ['--home', home, 'list', 'create', 'team', '--owner', 'boss@else.example', '--bounce-limit', String(bounceLimit), ...extra], '', {});
  t.is(made.code, 0, made.stderr);
  await mta.start();
  return { home, mta };
}

/** Mail between instances and list programs may take a while on a loaded machine. */
const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => until(what, cond, 50_000);

async function subscribers(home: string): Promise<string[]> {
  const s = await readSubscribers(listState(join(home, 'alias'), 'team'));
  return s.kind === 'ok' ? s.value : [];
}

test('1,000 subscribers: VERP senders, list headers, three bounces remove three subscribers', async (t) => {
  const addrs = Array.from({ length: 1000 }, (_, i) => `sub${i}@d${i % 4}.example`);
  const failing = ['sub7@d3.example', 'sub500@d0.example', 'sub999@d3.example'];
  const r = remote(new Set(failing), false);
  const { home, mta } = await startList(t, r.delivery, 1);
  t.is((await addSubscribers(listState(join(home, 'alias'), 'team'), addrs)).kind, 'ok');
  await mta.inject({ from: 'poster@else.example', to: [`team@${HOST}`], message: Buffer.from(`From: poster@else.example\nTo: team@${HOST}\nSubject: hello list\n\nhi all\n`) });
  await waitFor('the three bounces to be counted', async () => (await subscribers(home)).length === 997);
  const delivered = r.sent.filter((s) => s.sender.startsWith('team-return-'));
  t.is(new Set(delivered.flatMap((s) => s.recipients)).size, 1000);
  for (const s of delivered) {
    const [rcpt] = s.recipients;
    t.is(s.sender, `team-return-${rcpt?.replace('@', '=')}@${HOST}`);
  }
  const body = delivered[0]?.body ?? '';
  t.regex(body, new RegExp(`^Mailing-List: contact team-help@${HOST}; run by qmta\nList-Id: <team\\.${HOST}>\n`));
  t.true(body.includes(`List-Unsubscribe: <mailto:team-unsubscribe@${HOST}>\n`));
  t.true(body.includes('\nSubject: hello list\n\nhi all\n'));
  const left = await subscribers(home);
  for (const f of failing) t.false(left.includes(f));
  // A remote server's own bounce comes back to the VERP address and names the subscriber.
  await mta.inject({ from: '', to: [`team-return-sub1=d1.example@${HOST}`], message: Buffer.from('Subject: failure notice\n\nsorry\n') });
  await waitFor('the VERP bounce to be counted', async () => (await subscribers(home)).length === 996);
  t.false((await subscribers(home)).includes('sub1@d1.example'));
});

function confirmAddress(body: string): string | undefined {
  return new RegExp(`Reply-To: (team-confirm-[0-9a-f]{32}@${HOST.replace(/\./g, '\\.')})`).exec(body)?.[1];
}

test('subscription: confirmation round trip, single-use token, nothing changes without the reply', async (t) => {
  const r = remote(new Set(), true);
  const { home, mta } = await startList(t, r.delivery, 3);
  const send = (from: string, to: string, text = '') => mta.inject({ from, to: [to], message: Buffer.from(`From: ${from}\nSubject: x\n\n${text}`) });
  await send('newbie@else.example', `team-subscribe@${HOST}`);
  await waitFor('the confirmation request', () => r.sent.some((s) => s.recipients.includes('newbie@else.example')));
  t.deepEqual(await subscribers(home), []);
  const request = r.sent.find((s) => s.recipients.includes('newbie@else.example'));
  t.is(request?.sender, `team-owner@${HOST}`);
  const confirm = confirmAddress(request?.body ?? '');
  if (confirm === undefined) return t.fail('no confirmation address');
  await send('newbie@else.example', confirm);
  await waitFor('the subscription', async () => (await subscribers(home)).includes('newbie@else.example'));
  await waitFor('the welcome notice', () => r.sent.some((s) => s.body.includes('Subject: welcome to team@')));
  // The same token again is refused (bounced to the sender), and changes nothing.
  const before = r.sent.length;
  await send('newbie@else.example', confirm);
  await waitFor('the bounce of the used token', () => r.sent.slice(before).some((s) => s.sender === '' && s.body.includes('already used')));
  t.deepEqual(await subscribers(home), ['newbie@else.example']);
  // Someone asking for another address: only that address gets the confirmation request.
  await send('prankster@else.example', `team-subscribe-victim=else.example@${HOST}`);
  await waitFor('the request to the victim', () => r.sent.some((s) => s.recipients.includes('victim@else.example')));
  t.false(r.sent.some((s) => s.recipients.includes('prankster@else.example')));
  t.deepEqual(await subscribers(home), ['newbie@else.example']);
});

test('a post that already went through the list is refused as a loop; bounces to <> are never answered', async (t) => {
  const r = remote(new Set(), true);
  const { home, mta } = await startList(t, r.delivery, 3);
  t.is((await addSubscribers(listState(join(home, 'alias'), 'team'), ['a@else.example'])).kind, 'ok');
  await mta.inject({ from: 'poster@else.example', to: [`team@${HOST}`], message: Buffer.from(`List-Id: <team.${HOST}>\nSubject: again\n\nloop\n`) });
  await waitFor('the loop bounce', () => r.sent.some((s) => s.sender === '' && s.body.includes('This message is looping')));
  t.false(r.sent.some((s) => s.recipients.includes('a@else.example')));
  await mta.inject({ from: '', to: [`team-subscribe@${HOST}`], message: Buffer.from('Subject: bounce\n\nx\n') });
  await mta.idle();
  await new Promise((res) => setTimeout(res, 1500));
  await mta.idle();
  t.false(r.sent.some((s) => s.body.includes('confirm subscribe')));
});

test('RFC 8058: one-click lists give each subscriber a signed List-Unsubscribe URI; forged tokens fail', async (t) => {
  const r = remote(new Set(), true);
  const { home, mta } = await startList(t, r.delivery, 3, ['--one-click-url', 'https://lists.example.org/unsubscribe']);
  const subs = ['a@one.example', 'b@two.example', 'c@three.example'];
  t.is((await addSubscribers(listState(join(home, 'alias'), 'team'), subs)).kind, 'ok');
  await mta.inject({ from: 'poster@else.example', to: [`team@${HOST}`], message: Buffer.from('Subject: news\n\nbig news\n') });
  await waitFor('three copies', () => r.sent.filter((s) => s.sender.startsWith('team-return-')).length === 3);
  const uris = new Map<string, string>();
  for (const s of r.sent.filter((x) => x.sender.startsWith('team-return-'))) {
    t.true(s.body.includes('List-Unsubscribe-Post: List-Unsubscribe=One-Click\n'));
    t.true(s.body.endsWith('\nSubject: news\n\nbig news\n'));
    const uri = /<(https:\/\/lists\.example\.org\/unsubscribe\?[^>]+)>/.exec(s.body)?.[1];
    uris.set(s.recipients[0] ?? '', uri ?? '');
  }
  t.is(new Set(uris.values()).size, 3);
  const query = new URL(uris.get('b@two.example') ?? 'https://x/').search.slice(1);
  const forged = query.replace(/token=[0-9a-f]/, (m) => (m.endsWith('0') ? m.slice(0, -1) + '1' : m.slice(0, -1) + '0'));
  const bad = await runNode(MAIN, ['--home', home, 'list', 'one-click', 'team', forged], '', {});
  t.is(bad.code, 100);
  const good = await runNode(MAIN, ['--home', home, 'list', 'one-click', 'team', query], '', {});
  t.is(good.code, 0, good.stderr);
  t.is(good.stdout, 'removed\n');
  t.deepEqual(await subscribers(home), ['a@one.example', 'c@three.example']);
  const again = await runNode(MAIN, ['--home', home, 'list', 'one-click', 'team', query], '', {});
  t.is(again.stdout, 'not subscribed\n');
});
