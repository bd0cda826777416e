// bench/load-maildir.ts: the delivered() counter of the SMTP benchmark over maildirs.

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countMaildir, maildirCounter } from '../../bench/load-maildir.js';
import { tempDir } from '../helpers/home.js';

function maildir(root: string, name: string, files: { new?: number; cur?: number; tmp?: number }): string {
  const dir = join(root, name);
  for (const sub of ['new', 'cur', 'tmp'] as const) {
    mkdirSync(join(dir, sub), { recursive: true });
    for (let i = 0; i < (files[sub] ?? 0); i++) writeFileSync(join(dir, sub, `${sub}.${i}`), 'x');
  }
  return dir;
}

test('new/ and cur/ count, tmp/ and missing maildirs do not', (t) => {
  const root = tempDir(t);
  const a = maildir(root, 'a', { new: 3, cur: 2, tmp: 4 });
  const b = maildir(root, 'b', { new: 1 });
  t.is(countMaildir(a), 5);
  t.is(countMaildir(join(root, 'not-yet')), 0);
  const count = maildirCounter([a, b, join(root, 'not-yet')]);
  t.is(count(), 6);
  writeFileSync(join(b, 'new', 'late'), 'x');
  t.is(count(), 7, 'each call reads the directories again');
});

test('a maildir whose new/ is not a directory throws instead of counting 0', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'broken'));
  writeFileSync(join(root, 'broken', 'new'), 'not a directory');
  t.throws(() => countMaildir(join(root, 'broken')), { code: 'ENOTDIR' });
});
