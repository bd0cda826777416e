// `qmta inject` as a process against a temporary home: header fixups with the home's control
// files, masquerading variables, bad input and its exit codes; the queue is checked through
// the queue API.

import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from '../helpers/home.js';
import { openQueue } from '../../ts/queue/index.js';
import { runNode, type Run } from './inject-process.js';

const MAIN = new URL('../../ts/cli/main.js', import.meta.url).pathname;

/** A home whose control files name the host, as an administrator would set them. */
function home(t: ExecutionContext): string {
  const h = tempDir(t);
  mkdirSync(join(h, 'control'));
  const control: Record<string, string> = {
    me: 'mx.example.org', defaulthost: 'example.org', defaultdomain: 'example.org',
    plusdomain: 'example.net', idhost: 'ids.example.org',
  };
  for (const [k, v] of Object.entries(control)) writeFileSync(join(h, 'control', k), `${v}\n`);
  return h;
}

function inject(h: string, args: readonly string[], input: string | Buffer, env: Record<string, string> = { USER: 'cron' }): Promise<Run> {
  return runNode(MAIN, ['--home', h, 'inject', ...args], input, env);
}

/** Every message in todo/: envelope and body text. */
function queued(h: string): Array<{ sender: string; recipients: readonly string[]; body: string }> {
  const q = openQueue(join(h, 'queue'));
  if (q.kind !== 'ok') throw new Error(q.text);
  return q.value.listTodo().map((id) => {
    const env = q.value.readTodo(id);
    if (env.kind !== 'ok') throw new Error(env.text);
    return { sender: env.value.sender, recipients: env.value.recipients, body: readFileSync(q.value.bodyPath(id), 'latin1') };
  });
}

test('a message is queued with qmail-inject fixups from the home control files', async (t) => {
  const h = home(t);
  const r = await inject(h, [], 'To: bob, carol@lab, dave@host+\nSubject: hi\n\nhello\n');
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'cron@example.org');
  t.deepEqual(m?.recipients, ['bob@example.org', 'carol@lab.example.org', 'dave@host.example.net']);
  t.regex(m?.body ?? '', /^Date: \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d -0000\nMessage-ID: <\d{14}\.\d+\.qmail@ids\.example\.org>\n/);
  t.true(m?.body.includes('From: cron@example.org\nTo: bob@example.org, carol@lab.example.org, dave@host.example.net\nSubject: hi\n\nhello\n'));
});

test('masquerading variables shape From and the envelope sender', async (t) => {
  const h = home(t);
  const env = { USER: 'www-data', QMAILUSER: 'shop', QMAILHOST: 'shop.example.com', QMAILNAME: 'The Shop', QMAILSUSER: 'bounces', QMAILINJECT: 'f' };
  const r = await inject(h, ['customer@example.com'], 'From: www-data\nSubject: order\n\nthanks\n', env);
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'bounces@shop.example.com');
  t.true(m?.body.includes('From: "The Shop" <shop@shop.example.com>\n'));
  t.false(m?.body.includes('From: www-data'));
});

test('-f, -a/-h/-H and Bcc: recipients and sender as qmail-inject picks them', async (t) => {
  const h = home(t);
  t.is((await inject(h, ['-f', 'list-owner@lists.example.org', '-H', 'extra@x.example'], 'To: a@x.example\nBcc: b@y.example\n\nbody\n')).code, 0);
  const [m] = queued(h);
  t.is(m?.sender, 'list-owner@lists.example.org');
  t.deepEqual(m?.recipients, ['extra@x.example', 'a@x.example', 'b@y.example']);
  t.false(m?.body.includes('Bcc'));
});

test('bad input: each message is queued correctly or refused with 100', async (t) => {
  const h = home(t);
  // Queued: no blank line after the header, 8-bit bytes in a header, a 1 MB header field,
  // an empty message with a recipient.
  const bigField = `X-Big: ${'b'.repeat(1024 * 1024)}\n`;
  const ok = [
    ['To: a@x.example\nSubject: s\nbody without separator\n', []],
    [Buffer.from('To: J\xf6rg <j@x.example>\nSubject: Gr\xfc\xdfe\n\nbody\n', 'latin1'), []],
    [`To: a@x.example\n${bigField}\nbody\n`, []],
    ['', ['a@x.example']],
  ] as const;
  for (const r of await Promise.all(ok.map(([input, args]) => inject(h, args, input)))) t.is(r.code, 0, r.stderr);
  const msgs = queued(h);
  t.is(msgs.length, 4);
  const bodies = msgs.map((m) => m.body);
  t.true(bodies.some((b) => b.endsWith('Subject: s\n\nbody without separator\n')));
  t.true(bodies.some((b) => b.includes('To: "J\xf6rg" <j@x.example>\nSubject: Gr\xfc\xdfe\n')));
  t.true(bodies.some((b) => b.includes(bigField)));
  t.true(bodies.some((b) => b.endsWith('Cc: recipient list not shown: ;\n')));
  // Refused: an address group with no members and nothing else (no recipient), an
  // unparsable From, an unknown option, an unparsable recipient argument.
  const refused: Array<[readonly string[], string, RegExp]> = [
    [[], 'To: undisclosed-recipients:;\n\nbody\n', /no recipients \(#5\.1\.3\)/],
    [[], 'From: "open\nTo: a@x.example\n\nbody\n', /unable to parse this line/],
    [['-z'], 'To: a@x.example\n\nbody\n', /usage/],
    [['x@[1.2'], 'Subject: s\n\nbody\n', /unable to parse address/],
    [[], '', /no recipients/],
  ];
  const runs = await Promise.all(refused.map(([args, input]) => inject(h, args, input)));
  for (const [i, r] of runs.entries()) {
    t.is(r.code, 100, refused[i]?.[1]);
    t.regex(r.stderr, refused[i]?.[2] ?? /./);
  }
  t.is(queued(h).length, 4);
});

test('a queue that cannot be opened is a temporary failure (111)', async (t) => {
  const h = home(t);
  writeFileSync(join(h, 'queue'), 'not a directory');
  const r = await inject(h, ['a@x.example'], 'Subject: s\n\nbody\n');
  t.is(r.code, 111);
  t.regex(r.stderr, /qmta inject: fatal: .*\(#4\.\d\.\d\)/);
});

test('-n prints the message with its Return-Path instead of queueing', async (t) => {
  const h = home(t);
  const r = await inject(h, ['-n'], 'To: a\n\nbody\n', { USER: 'joe' });
  t.is(r.code, 0);
  t.regex(r.stdout, /^Return-Path: <joe@example\.org>\nDate: .*\nMessage-ID: .*\nFrom: joe@example\.org\nTo: a@example\.org\n\nbody\n$/);
  t.is(queued(h).length, 0);
});

test('on a host whose name has no dot, localhost and the locals stay local; other hosts are qualified', async (t) => {
  // The home qmta creates on such a host (control/me box, locals localhost and box, no
  // defaultdomain file): qmail would send joe@localhost to joe@localhost.box.
  const h = tempDir(t);
  mkdirSync(join(h, 'control'));
  writeFileSync(join(h, 'control', 'me'), 'box\n');
  writeFileSync(join(h, 'control', 'locals'), 'localhost\nbox\n');
  const r = await inject(h, ['-f', 'cron', 'joe@localhost', 'ann', 'bob@Box', 'eve@other'], 'Subject: hi\n\nhello\n');
  t.is(r.code, 0, r.stderr);
  const [m] = queued(h);
  t.is(m?.sender, 'cron@box');
  t.deepEqual(m?.recipients, ['joe@localhost', 'ann@box', 'bob@Box', 'eve@other.localdomain']);
});
