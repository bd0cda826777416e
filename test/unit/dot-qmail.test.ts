import test from 'ava';
import { chmodSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../../ts/outcome.js';
import {
  dotQmailCandidates, guardedDotQmailFs, isLooping, nodeDotQmailFs, planDelivery, type DeliveryPlan, type DeliveryRequest,
  type DotQmailFs, type FileInfo,
} from '../../ts/local/dot-qmail.js';
import { racy } from '../../ts/local/dot-qmail-fs.js';
import { ctime, fromLine, programEnv, returnPathLine } from '../../ts/local/program-env.js';
import { parseAssign } from '../../ts/users/assign.js';
import { tempDir } from '../helpers/home.js';

/** A fake filesystem: path -> file text (mode 0644), or a FileInfo override, or an error. */
type Entry = string | { text?: string; info: FileInfo } | 'EACCES';

function fakeFs(files: Record<string, Entry>): DotQmailFs {
  const dirs = new Set(['/home/joe', '/q/alias', '/home/lists']);
  return {
    stat(path): Outcome<FileInfo | undefined> {
      const e = files[path];
      if (e === 'EACCES') return temp('4.3.0', `Unable to open ${path}: EACCES.`);
      if (typeof e === 'string') return ok({ type: 'file', mode: 0o644, size: e.length });
      if (e) return ok(e.info);
      return ok(dirs.has(path) ? { type: 'dir', mode: 0o755, size: 0 } : undefined);
    },
    readFile(path) {
      const e = files[path];
      return ok(typeof e === 'string' ? e : typeof e === 'object' ? e.text ?? '' : '');
    },
  };
}

const USERS = (() => {
  const r = parseAssign([
    '=joe:joe:507:100:/home/joe:::',
    '+joe-:joe:507:100:/home/joe:-::',
    '=lists:lists:508:100:/home/lists:::',
    '+lists-:lists:508:100:/home/lists:-::',
    '.', '',
  ].join('\n'));
  if (r.kind !== 'ok') throw new Error(r.text);
  return r.value;
})();

const NOW = new Date(Date.UTC(2026, 10, 4, 9, 5, 3));

function req(recipient: string, sender = 'alice@example.org'): DeliveryRequest {
  return { recipient, sender, users: USERS, alias: { home: '/q/alias', uid: 9, gid: 9 }, now: NOW };
}

function plan(t: { fail(m: string): void }, r: Outcome<DeliveryPlan>): DeliveryPlan {
  if (r.kind !== 'ok') {
    t.fail(`${r.status} ${r.text}`);
    throw new Error('no plan');
  }
  return r.value;
}

test('candidate .qmail names follow qmail-local qmesearch order', (t) => {
  const names = (dash: string, ext: string) => dotQmailCandidates(dash, ext).map((c) => c.name);
  t.deepEqual(names('-', 'a'), ['.qmail-a', '.qmail-default']);
  t.deepEqual(names('-', 'a-b-c'), ['.qmail-a-b-c', '.qmail-a-b-default', '.qmail-a-default', '.qmail-default']);
  t.deepEqual(names('-', 'a-'), ['.qmail-a-', '.qmail-a-default', '.qmail-default']);
  t.deepEqual(names('-', 'a-b-'), ['.qmail-a-b-', '.qmail-a-b-default', '.qmail-a-default', '.qmail-default']);
  t.deepEqual(names('-', 'Foo.Bar'), ['.qmail-foo:bar', '.qmail-default'], 'safeext: lowercase, . -> :');
  t.deepEqual(names('-', ''), ['.qmail-', '.qmail-default']);
  t.deepEqual(names('', ''), ['.qmail', '.qmaildefault']);
});

test('bare user without .qmail: default delivery to ./Maildir/', (t) => {
  const p = plan(t, planDelivery(req('joe@example.com'), fakeFs({})));
  t.deepEqual(p.instructions, [{ kind: 'maildir', path: '/home/joe/Maildir/' }]);
  t.is(p.dotQmail, undefined);
  t.is(p.assignment.user, 'joe');
});

test('an extension without any .qmail file is permanent 5.1.1', (t) => {
  t.like(planDelivery(req('joe-nothing@example.com'), fakeFs({})),
    { kind: 'perm', status: '5.1.1', text: 'Sorry, no mailbox here by that name.' });
});

test('an empty .qmail file means default delivery, for the bare user and for extensions', (t) => {
  const fs = fakeFs({ '/home/joe/.qmail': '', '/home/joe/.qmail-x': '' });
  t.deepEqual(plan(t, planDelivery(req('joe@example.com'), fs)).instructions, [{ kind: 'maildir', path: '/home/joe/Maildir/' }]);
  t.deepEqual(plan(t, planDelivery(req('joe-x@example.com'), fs)).instructions, [{ kind: 'maildir', path: '/home/joe/Maildir/' }]);
  const custom = { ...req('joe@example.com'), defaultDelivery: './Mailbox\n' };
  t.deepEqual(plan(t, planDelivery(custom, fs)).instructions, [{ kind: 'mbox', path: '/home/joe/Mailbox' }]);
});

test('the first existing regular file wins; directories are skipped; DEFAULT keeps the original case', (t) => {
  const dir = { info: { type: 'dir' as const, mode: 0o755, size: 0 } };
  const fs = fakeFs({
    '/home/joe/.qmail-foo-bar': dir,
    '/home/joe/.qmail-foo-default': '&foo@x.example\n',
    '/home/joe/.qmail-default': '&any@x.example\n',
  });
  const p = plan(t, planDelivery(req('joe-Foo-Bar@example.com'), fs));
  t.is(p.dotQmail, '/home/joe/.qmail-foo-default');
  t.is(p.env.DEFAULT, 'Bar');
  t.deepEqual(p.instructions, [{ kind: 'forward', address: 'foo@x.example' }]);
  const q = plan(t, planDelivery(req('joe-Other-Thing@example.com'), fs));
  t.is(q.dotQmail, '/home/joe/.qmail-default');
  t.is(q.env.DEFAULT, 'Other-Thing');
  const exact = plan(t, planDelivery(req('joe-x@example.com'), fakeFs({ '/home/joe/.qmail-x': '&y@z\n' })));
  t.is(exact.env.DEFAULT, undefined, 'DEFAULT only when the file name ends in default');
  const dots = plan(t, planDelivery(req('joe-A.B@example.com'), fakeFs({ '/home/joe/.qmail-a:b': '&y@z\n' })));
  t.is(dots.dotQmail, '/home/joe/.qmail-a:b');
  t.is(dots.env.EXT, 'A.B');
});

test('the alias user takes every unassigned local part with its whole local part as ext', (t) => {
  const fs = fakeFs({ '/q/alias/.qmail-postmaster': '', '/q/alias/.qmail-root': '&admin@example.net\n' });
  const p = plan(t, planDelivery(req('PostMaster@example.com'), fs));
  t.is(p.assignment.user, 'alias');
  t.is(p.dotQmail, undefined);
  t.deepEqual(p.instructions, [{ kind: 'maildir', path: '/q/alias/Maildir/' }]);
  t.deepEqual(plan(t, planDelivery(req('root@example.com'), fs)).instructions, [{ kind: 'forward', address: 'admin@example.net' }]);
  t.like(planDelivery(req('nobody@example.com'), fs), { kind: 'perm', status: '5.1.1' });
  const withDefault = fakeFs({ '/q/alias/.qmail-default': './catchall\n' });
  const d = plan(t, planDelivery(req('Nobody@example.com'), withDefault));
  t.is(d.env.DEFAULT, 'Nobody');
  t.deepEqual(d.instructions, [{ kind: 'mbox', path: '/q/alias/catchall' }]);
});

test('every line type, in file order', (t) => {
  const text = [
    '# a comment', '|preline /usr/bin/procmail  ', '/var/mail/joe', './Mailbox', './Maildir/', '/srv/box/',
    '', '&Fwd@Example.NET', 'bare@example.org', '+ignored', '&', 'joe', '',
  ].join('\n');
  const p = plan(t, planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': text })));
  t.deepEqual(p.instructions, [
    { kind: 'program', command: 'preline /usr/bin/procmail' },
    { kind: 'mbox', path: '/var/mail/joe' },
    { kind: 'mbox', path: '/home/joe/Mailbox' },
    { kind: 'maildir', path: '/home/joe/Maildir/' },
    { kind: 'maildir', path: '/srv/box/' },
    { kind: 'forward', address: 'Fwd@Example.NET' },
    { kind: 'forward', address: 'bare@example.org' },
    { kind: 'forward', address: 'joe' },
  ]);
  t.false(p.forwardOnly);
  t.is(p.dotQmail, '/home/joe/.qmail');
});

test('a missing final newline is tolerated', (t) => {
  const p = plan(t, planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': './Maildir/' })));
  t.deepEqual(p.instructions, [{ kind: 'maildir', path: '/home/joe/Maildir/' }]);
});

test('a blank first line is a temporary error; blank later lines are ignored', (t) => {
  t.like(planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': '\n./Maildir/\n' })),
    { kind: 'temp', status: '4.2.1', text: 'Uh-oh: first line of .qmail file is blank.' });
  t.like(planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': '  \t\n./Maildir/\n' })), { kind: 'temp', status: '4.2.1' });
});

const EXEC = (text: string) => ({ text, info: { type: 'file' as const, mode: 0o744, size: text.length } });

test('the x bit means forward-only: file and program lines fail, forwards pass', (t) => {
  t.like(planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': EXEC('&a@b\n./Maildir/\n') })),
    { kind: 'temp', status: '4.7.0', text: 'Uh-oh: .qmail has file delivery but has x bit set.' });
  t.like(planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': EXEC('|true\n') })),
    { kind: 'temp', status: '4.7.0', text: 'Uh-oh: .qmail has prog delivery but has x bit set.' });
  const p = plan(t, planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': EXEC('&a@b\nc@d\n') })));
  t.true(p.forwardOnly);
  t.is(p.instructions.length, 2);
  const empty = plan(t, planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': EXEC('') })));
  t.false(empty.forwardOnly, 'an empty file falls back to the default delivery without the x bit');
});

test('+list makes the following lines forward-only, not the ones before', (t) => {
  const before = plan(t, planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': './Maildir/\n+list\n&a@b\n' })));
  t.true(before.forwardOnly);
  t.is(before.instructions.length, 2);
  t.like(planDelivery(req('joe@example.com'), fakeFs({ '/home/joe/.qmail': '+list\n|true\n' })), { kind: 'temp', status: '4.7.0' });
});

test('home and .qmail permission checks', (t) => {
  const home = (mode: number) => ({ '/home/joe': { info: { type: 'dir' as const, mode, size: 0 } } });
  t.like(planDelivery(req('joe@example.com'), fakeFs(home(0o757))),
    { kind: 'temp', status: '4.7.0', text: 'Uh-oh: home directory is writable.' });
  t.like(planDelivery(req('joe@example.com'), fakeFs(home(0o1755))),
    { kind: 'temp', status: '4.2.1', text: 'Home directory is sticky: user is editing his .qmail file.' });
  t.is(planDelivery(req('joe@example.com'), fakeFs(home(0o775))).kind, 'ok', 'group-writable is allowed (patrn 002)');
  const writable = { '/home/joe/.qmail-x': { text: '&a@b\n', info: { type: 'file' as const, mode: 0o646, size: 5 } } };
  t.like(planDelivery(req('joe-x@example.com'), fakeFs(writable)),
    { kind: 'temp', status: '4.7.0', text: 'Uh-oh: .qmail file is writable.' });
  t.like(planDelivery(req('x@example.com'), { ...fakeFs({}), stat: () => ok(undefined) }),
    { kind: 'temp', status: '4.3.0' }, 'missing home');
  t.like(planDelivery(req('joe-x@example.com'), fakeFs({ '/home/joe/.qmail-x': 'EACCES' })),
    { kind: 'temp', status: '4.3.0', text: 'Unable to open /home/joe/.qmail-x: EACCES.' });
});

test('empty local part is a trash address; no @ is permanent 5.1.3', (t) => {
  const p = plan(t, planDelivery(req('@example.com'), fakeFs({})));
  t.true(p.trash);
  t.deepEqual(p.instructions, []);
  t.like(planDelivery(req('joe'), fakeFs({})), { kind: 'perm', status: '5.1.3' });
});

test('NEWSENDER: -owner and -owner-default, looked up from the address extension', (t) => {
  const fs = fakeFs({
    '/home/lists/.qmail-list-default': '&member@example.net\n',
    '/home/lists/.qmail-list-x-owner': '&owner@example.net\n',
    '/home/lists/.qmail-verp': '&member@example.net\n',
    '/home/lists/.qmail-verp-owner': '&owner@example.net\n',
    '/home/lists/.qmail-verp-owner-default': '&owner@example.net\n',
    '/home/lists/.qmail-list-owner': '&owner@example.net\n',
  });
  t.is(plan(t, planDelivery(req('lists-list-x@example.com'), fs)).newSender, 'lists-list-x-owner@example.com');
  t.is(plan(t, planDelivery(req('lists-list-y@example.com'), fs)).newSender, 'alice@example.org',
    'the -owner of the -default file actually used does not count');
  const verp = plan(t, planDelivery(req('lists-verp@example.com'), fs));
  t.is(verp.newSender, 'lists-verp-owner-@example.com-@[]');
  t.is(verp.env.NEWSENDER, 'lists-verp-owner-@example.com-@[]');
  t.is(plan(t, planDelivery(req('lists-verp@example.com', ''), fs)).newSender, '', 'bounces keep <>');
  t.is(plan(t, planDelivery(req('lists-verp@example.com', '#@[]'), fs)).newSender, '#@[]');
});

test('the program environment (qmail.md §5.7)', (t) => {
  const fs = fakeFs({ '/home/joe/.qmail-foo-default': '|cat\n' });
  const p = plan(t, planDelivery(req('joe-Foo-Bar-Baz-Q@Mail.Example.COM', 'a b@x.org'), fs));
  t.deepEqual(p.env, {
    SENDER: 'a b@x.org', NEWSENDER: 'a b@x.org', RECIPIENT: 'joe-Foo-Bar-Baz-Q@Mail.Example.COM',
    USER: 'joe', HOME: '/home/joe', LOCAL: 'joe-Foo-Bar-Baz-Q',
    HOST: 'Mail.Example.COM', HOST2: 'Mail.Example', HOST3: 'Mail', HOST4: 'Mail',
    EXT: 'Foo-Bar-Baz-Q', EXT2: 'Bar-Baz-Q', EXT3: 'Baz-Q', EXT4: 'Q', DEFAULT: 'Bar-Baz-Q',
    DTLINE: 'Delivered-To: joe-Foo-Bar-Baz-Q@Mail.Example.COM\n',
    RPLINE: 'Return-Path: <"a b"@x.org>\n',
    UFLINE: 'From a-b@x.org Wed Nov 04 09:05:03 2026\n',
  });
  t.is(p.dtline, p.env.DTLINE ?? "missing");
  t.is(p.rpline, p.env.RPLINE ?? "missing");
  t.is(p.ufline, p.env.UFLINE ?? "missing");
});

test('HOST2-4 and EXT2-4 stop shrinking when there are too few dots or dashes', (t) => {
  const env: Record<string, string | undefined> = programEnv({ sender: '', newSender: '', local: 'joe-a', domain: 'example.com', user: 'joe',
    home: '/h', ext: 'a', defaultPart: undefined, now: NOW });
  t.deepEqual([env.HOST2, env.HOST3, env.HOST4], ['example', 'example', 'example']);
  t.deepEqual([env.EXT2, env.EXT3, env.EXT4], ['', '', '']);
  t.is(env.RPLINE, 'Return-Path: <>\n');
  t.is(env.UFLINE, 'From MAILER-DAEMON Wed Nov 04 09:05:03 2026\n');
  t.false('DEFAULT' in env);
  const one: Record<string, string | undefined> = programEnv({ sender: '', newSender: '', local: 'x', domain: 'localhost', user: 'x', home: '/h',
    ext: 'a-b', defaultPart: '', now: NOW });
  t.deepEqual([one.HOST2, one.EXT2, one.EXT3, one.DEFAULT], ['localhost', 'b', '', '']);
});

test('Return-Path quoting (RFC 5322/6532), From_ and Delivered-To lines', (t) => {
  t.is(returnPathLine('joe@example.com'), 'Return-Path: <joe@example.com>\n');
  t.is(returnPathLine('#@[]'), 'Return-Path: <#@[]>\n');
  t.is(returnPathLine('a"b@x'), 'Return-Path: <"a\\"b"@x>\n');
  t.is(returnPathLine('.joe@x'), 'Return-Path: <".joe"@x>\n');
  t.is(returnPathLine('jürgen.müller@example.com'), 'Return-Path: <jürgen.müller@example.com>\n', 'UTF-8 is atext');
  t.is(returnPathLine('jürgen müller@example.com'), 'Return-Path: <"jürgen müller"@example.com>\n');
  t.is(returnPathLine('a\nb@x'), 'Return-Path: <"a\\_b"@x>\n');
  t.is(fromLine('a\tb c@x', NOW), 'From a-b-c@x Wed Nov 04 09:05:03 2026\n');
  t.is(ctime(new Date(Date.UTC(2027, 0, 1, 23, 59, 59))), 'Fri Jan 01 23:59:59 2027\n');
  const p = plan(t, planDelivery(req('weird\nlocal@example.com'), fakeFs({ '/q/alias/.qmail-default': '' })));
  t.is(p.dtline, 'Delivered-To: weird_local@example.com\n');
});

test('isLooping finds our exact Delivered-To line in the header only', (t) => {
  const dt = 'Delivered-To: joe@example.com\n';
  t.true(isLooping(Buffer.from(`Received: x\n${dt}Subject: s\n\nbody\n`), dt));
  t.false(isLooping(Buffer.from(`Received: x\nDelivered-To: JOE@example.com\n\n`), dt), 'case-sensitive');
  t.false(isLooping(Buffer.from(`Subject: s\n\n${dt}`), dt), 'body lines do not count');
  t.false(isLooping(Buffer.from(`Subject: s\nDelivered-To: joe@example.com`), dt), 'an unterminated last line is not compared');
  t.false(isLooping(Buffer.from(`Delivered-To: joe@example.com.evil\n`), dt));
  t.false(isLooping(Buffer.alloc(0), dt));
});

test('the real filesystem view: stat modes, missing files, directories, reading', (t) => {
  const home = tempDir(t);
  chmodSync(home, 0o755);
  writeFileSync(join(home, '.qmail-x'), '&a@b\n', { mode: 0o644 });
  mkdirSync(join(home, '.qmail-dir'));
  const st = nodeDotQmailFs.stat(join(home, '.qmail-x'));
  t.like(st, { kind: 'ok', value: { type: 'file', mode: 0o644, size: 5 } });
  t.deepEqual(nodeDotQmailFs.stat(join(home, '.qmail-none')), { kind: 'ok', value: undefined });
  t.deepEqual(nodeDotQmailFs.stat(join(home, '.qmail-x', 'under-a-file')), { kind: 'ok', value: undefined });
  t.like(nodeDotQmailFs.stat(join(home, '.qmail-dir')), { kind: 'ok', value: { type: 'dir' } });
  t.deepEqual(nodeDotQmailFs.readFile(join(home, '.qmail-x')), { kind: 'ok', value: '&a@b\n' });
  t.like(nodeDotQmailFs.readFile(join(home, '.qmail-dir')), { kind: 'temp', status: '4.3.0' });
  writeFileSync(join(home, '.qmail-big'), Buffer.alloc(1024 * 1024 + 1, 'a'));
  t.like(nodeDotQmailFs.readFile(join(home, '.qmail-big')), { kind: 'temp', status: '4.3.0' });
  const users = parseAssign(`=u:u:1:1:${home}:::\n+u-:u:1:1:${home}:-::\n.\n`);
  if (users.kind !== 'ok') return t.fail(users.text);
  const r = planDelivery({ ...req('u-x@example.com'), users: users.value }, nodeDotQmailFs);
  t.like(r, { kind: 'ok', value: { dotQmail: join(home, '.qmail-x'), instructions: [{ kind: 'forward', address: 'a@b' }] } });
  t.like(planDelivery({ ...req('u-dir@example.com'), users: users.value }, nodeDotQmailFs), { kind: 'perm', status: '5.1.1' },
    'a directory named like a .qmail file is skipped');
});

test('a change is racy for 100 ms with a sub-second ctime, for 2 s with a whole-second one (a filesystem that may keep seconds)', (t) => {
  const s = 1_000_000_000n;
  const fine = 1_700_000_000n * s + 123_456_789n;
  t.true(racy(fine, fine + 99_000_000n));
  t.false(racy(fine, fine + 101_000_000n));
  const whole = 1_700_000_000n * s;
  t.true(racy(whole, whole + s));
  t.true(racy(whole, whole + 1_999_000_000n));
  t.false(racy(whole, whole + 2_001_000_000n));
  t.false(racy(0n, whole), 'a missing path has nothing to race');
});

test('the guarded view notes each path stat\'ed with its signature, and none while a file changed in the last moment', (t) => {
  const home = tempDir(t);
  const users = parseAssign(`=u:u:1:1:${home}:::\n.\n`);
  if (users.kind !== 'ok') return t.fail(users.text);
  const plan = () => {
    const g = guardedDotQmailFs();
    t.like(planDelivery({ ...req('u@example.com'), users: users.value }, g.fs), { kind: 'ok' });
    return g.guards();
  };
  t.is(plan(), undefined, 'the home was made just now');
  const old = new Date(Date.now() - 10_000);
  utimesSync(home, old, old);
  t.is(plan(), undefined, 'utimes changed its ctime too');
  // ctime cannot be set back: wait until the home's is old enough (this filesystem keeps nanoseconds).
  const settled = Date.now() + 150;
  while (Date.now() < settled) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  const guards = plan();
  const { dev, ino, mode, size, mtimeNs, ctimeNs } = statSync(home, { bigint: true });
  t.deepEqual(guards, [
    { path: home, seen: `${dev}:${ino}:${mode}:${size}:${mtimeNs}:${ctimeNs}` },
    { path: join(home, '.qmail'), seen: '' }, { path: join(home, '.qmaildefault'), seen: '' },
    { path: join(home, '.qmail-owner'), seen: '' },
  ]);
  writeFileSync(join(home, '.qmail'), './Maildir/\n');
  t.is(plan(), undefined, 'the new .qmail is too recent');
});

test('checkRecipient: RCPT-time answer of whether local delivery finds a mailbox', async (t) => {
  const { checkRecipient } = await import('../../ts/local/dot-qmail-check.js');
  const { routeTable } = await import('../../ts/route/rewrite.js');
  const route = routeTable({ envnoathost: 'example.com', locals: ['example.com'], percenthack: [],
    virtualdomains: [{ key: 'virt.example', prepend: 'joe' }] });
  const fs = fakeFs({ '/home/joe/.qmail-sales': '&x@y\n', '/q/alias/.qmail-postmaster': '', '/home/lists/.qmail-default': '' });
  const deps = { route, users: USERS, alias: { home: '/q/alias', uid: 9, gid: 9 }, fs };
  const cases: Array<[string, boolean]> = [
    ['joe@example.com', true], ['JOE@Example.COM', true], ['joe-sales@example.com', true], ['joe-nope@example.com', false],
    ['postmaster@example.com', true], ['stranger@example.com', false], ['lists-anything@example.com', true],
    ['sales@virt.example', true], ['other@virt.example', false], ['someone@remote.example', true], ['@example.com', true],
  ];
  for (const [addr, want] of cases) t.deepEqual(checkRecipient(addr, deps), { kind: 'ok', value: want }, addr);
  const broken = { ...deps, fs: fakeFs({ '/home/joe/.qmail-x': 'EACCES' }) };
  t.like(checkRecipient('joe-x@example.com', broken), { kind: 'temp', status: '4.3.0' });
});
