// The list machinery's pieces on their own: command addresses, QSBMF parsing, tokens (single
// use, expiry, hostile input), address bounds, and bounce counting over days.

import test from 'ava';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { tempDir } from '../helpers/home.js';
import { ok } from '../../ts/outcome.js';
import type { Queue } from '../../ts/queue/types.js';
import { listAddress, parseCommand, verpSender } from '../../ts/lists/addresses.js';
import { qsbmfRecipients, runListBounce } from '../../ts/lists/bounce.js';
import { addSubscribers } from '../../ts/lists/create.js';
import { listState, normalizeAddress, readSubscribers, writeConfig, type ListConfig } from '../../ts/lists/store.js';
import { consumeToken, createToken, TOKEN_DAYS } from '../../ts/lists/tokens.js';
import { runNode } from './inject-process.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;

const CFG: ListConfig = { name: 'team', address: 'team@lists.example.org', owner: 'boss@x.example', bounceLimit: 2, bounceDays: 10 };

test('command addresses and the VERP sender', (t) => {
  t.is(listAddress(CFG, 'subscribe'), 'team-subscribe@lists.example.org');
  t.is(verpSender(CFG), 'team-return-@lists.example.org-@[]');
  t.deepEqual(parseCommand('subscribe'), { kind: 'subscribe', target: undefined });
  t.deepEqual(parseCommand('Unsubscribe-joe=x.example'), { kind: 'unsubscribe', target: 'joe@x.example' });
  t.deepEqual(parseCommand('subscribe-a=b=c.example'), { kind: 'subscribe', target: 'a=b@c.example' });
  t.deepEqual(parseCommand('confirm-abc'), { kind: 'confirm', token: 'abc' });
  t.deepEqual(parseCommand('whatever'), { kind: 'unknown' });
});

test('QSBMF: failed recipients up to the break paragraph; anything else is not a bounce', (t) => {
  const bounce = 'From: MAILER-DAEMON@lists.example.org\nSubject: failure notice\n\n' +
    "Hi. This is the qmail-send program at lists.example.org.\nI'm afraid I wasn't able to deliver...\n\n" +
    '<a@x.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n<b@y.example>:\n192.0.2.1 does not like recipient.\n\n' +
    '--- Below this line is a copy of the message.\n\n<c@z.example>:\nnot a failure\n';
  t.deepEqual(qsbmfRecipients(bounce), ['a@x.example', 'b@y.example']);
  t.deepEqual(qsbmfRecipients('Subject: hi\n\nHello there\n\n<a@x.example>:\nx\n'), []);
});

test('addresses are bounded and plain', (t) => {
  t.is(normalizeAddress(' Joe@X.Example '), 'Joe@x.example');
  t.is(normalizeAddress(`${'a'.repeat(320)}@x.example`), undefined);
  for (const bad of ['no-at', '@x', 'a@', 'a b@x', 'a@x\ny', '<a@x>', 'a,b@x']) t.is(normalizeAddress(bad), undefined, bad);
});

test('tokens: single use, expire after TOKEN_DAYS, hostile tokens never touch the disk', async (t) => {
  const s = listState(tempDir(t), 'team');
  t.is((await writeConfig(s, CFG)).kind, 'ok');
  const tok = await createToken(s, 'subscribe', 'a@x.example', 1000);
  if (tok.kind !== 'ok') return t.fail(tok.text);
  t.like(await consumeToken(s, tok.value, 2000), { kind: 'ok', value: { action: 'subscribe', address: 'a@x.example' } });
  t.like(await consumeToken(s, tok.value, 2000), { kind: 'perm', status: '5.7.1' });
  const old = await createToken(s, 'unsubscribe', 'a@x.example', 0);
  if (old.kind !== 'ok') return t.fail(old.text);
  t.like(await consumeToken(s, old.value, TOKEN_DAYS * 86_400_000 + 1), { kind: 'perm' });
  for (const bad of ['../config.json', '../../etc/passwd', '', 'g'.repeat(32)]) t.like(await consumeToken(s, bad, 0), { kind: 'perm' }, bad);
});

test('bounces: removed after bounceLimit bounces within bounceDays; old bounces expire', async (t) => {
  const dir = tempDir(t);
  const s = listState(dir, 'team');
  t.is((await writeConfig(s, CFG)).kind, 'ok');
  t.is((await addSubscribers(s, ['a@x.example', 'b@y.example'])).kind, 'ok');
  writeFileSync(join(dir, 'msg'), 'Subject: failure\n\nsorry\n');
  const bounce = async (box: string, now: number): Promise<number> => {
    const fd = openSync(join(dir, 'msg'), 'r');
    try {
      const io = { env: { DEFAULT: box }, stdinFd: fd, stdout: new PassThrough(), stderr: new PassThrough(), openQueue: async () => ok({} as Queue) };
      return await runListBounce(s, io, now);
    } finally {
      closeSync(fd);
    }
  };
  const day = 86_400_000;
  t.is(await bounce('a=x.example', 0), 0);
  t.is(await bounce('a=x.example', 11 * day), 0);
  t.deepEqual(await readSubscribers(s), { kind: 'ok', value: ['a@x.example', 'b@y.example'] });
  t.is(await bounce('a=x.example', 12 * day), 0);
  t.is(await bounce('nobody=z.example', 12 * day), 0);
  t.deepEqual(await readSubscribers(s), { kind: 'ok', value: ['b@y.example'] });
});

test('qmta list create|add|del|show from the command line, with bad input refused (100)', async (t) => {
  const home = tempDir(t);
  const qmta = (...args: string[]) => runNode(MAIN, ['--home', home, 'list', ...args], '', {});
  t.is((await qmta('create', 'news', '--address', 'news@lists.example.org', '--owner', 'ed@lists.example.org')).code, 0);
  t.is((await qmta('create', 'news', '--address', 'news@lists.example.org', '--owner', 'ed@lists.example.org')).code, 100);
  t.is((await qmta('create', 'Bad/Name')).code, 100);
  t.is((await qmta('add', 'news', 'a@x.example', 'B@Y.EXAMPLE', 'a@x.example')).code, 0);
  const bad = await qmta('add', 'news', 'not an address');
  t.is(bad.code, 100);
  t.regex(bad.stderr, /bad address/);
  t.is((await qmta('del', 'news', 'a@x.example')).code, 0);
  const show = await qmta('show', 'news');
  t.is(show.stdout, 'list news: news@lists.example.org, owner ed@lists.example.org, remove after 3 bounces in 10 days\nB@y.example\n');
  t.is((await qmta('show', 'nosuch')).code, 100);
});
