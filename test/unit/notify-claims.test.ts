// ts/notify/claims.ts and the notifier: a write a system account's delivery reports gets
// a notice only when it names that account's own regular file, reached through no
// symbolic link; otherwise no event, no hook, one warning.

import test from 'ava';
import { chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkClaim } from '../../ts/notify/claims.js';
import { createNotifier, type NewMailEvent } from '../../ts/notify/index.js';
import { tempDir } from '../helpers/home.js';

const ME = process.getuid!();

test('the owner\'s regular file checks out; a link, a stranger\'s file or a missing one does not', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'Maildir', 'new'), { recursive: true });
  const file = join(dir, 'Maildir', 'new', '1.x');
  writeFileSync(file, 'm');
  const md = (f: string) => ({ kind: 'maildir' as const, maildir: join(dir, 'Maildir/'), file: f });
  t.is(checkClaim(md(file), ME), undefined);
  t.regex(checkClaim(md(file), ME + 1)!, /belongs to uid \d+, not \d+/);
  symlinkSync('/etc/passwd', join(dir, 'Maildir', 'new', '2.x'));
  t.regex(checkClaim(md(join(dir, 'Maildir', 'new', '2.x')), ME)!, /is not a regular file/);
  symlinkSync(join(dir, 'Maildir'), join(dir, 'Linked'));
  t.regex(checkClaim({ kind: 'mbox', mbox: join(dir, 'Linked', 'new', '1.x') }, ME)!, /through a symbolic link/);
  t.regex(checkClaim({ kind: 'mbox', mbox: join(dir, 'none') }, ME)!, /cannot check .*: ENOENT/);
  if (ME === 0) {
    chownSync(file, 65534, 65534);
    t.regex(checkClaim(md(file), 0)!, /belongs to uid 65534, not 0/);
  }
});

test('the notifier drops a claim that does not check out, and tells the rest', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'mbox'), 'm');
  symlinkSync('/etc/hostname', join(dir, 'link'));
  const seen: NewMailEvent[] = [];
  const warnings: string[] = [];
  const sink = createNotifier({ hook: () => undefined, emit: (e) => seen.push(e), log: { warn: (_o, m) => warnings.push(m ?? '') } });
  const notice = { user: 'sys', recipient: 'sys@mx.example', sender: 'a@b.c', home: dir, env: {}, owner: ME };
  sink({ ...notice, writes: [{ kind: 'mbox', mbox: join(dir, 'mbox') }, { kind: 'mbox', mbox: join(dir, 'link') }] });
  t.deepEqual(seen.map((e) => e.mbox), [join(dir, 'mbox')]);
  t.deepEqual(warnings, [`newmail: no notice: ${join(dir, 'link')} is not a regular file`]);
  sink({ ...notice, owner: undefined, writes: [{ kind: 'mbox', mbox: join(dir, 'link') }] });
  t.is(seen.length, 2, 'a virtual user\'s delivery (the daemon\'s own) is not a claim');
});
