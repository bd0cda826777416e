import test from 'ava';
import { readFileSync, utimesSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { LOCK_NAME, lockMaildir, type MaildirLock } from '../../ts/pop3d/lock.js';

async function take(dir: string, staleMs = 60_000): Promise<MaildirLock | 'in-use'> {
  const r = await lockMaildir(dir, staleMs);
  if (r.kind !== 'ok') throw new Error(r.text);
  return r.value;
}

test('a second lock on the same maildir is refused until the first is released', async (t) => {
  const dir = tempDir(t);
  const first = await take(dir);
  t.not(first, 'in-use');
  t.regex(readFileSync(join(dir, LOCK_NAME), 'latin1'), new RegExp(`^${hostname()} ${process.pid} [0-9a-f]{16}\\n$`));
  t.is(await take(dir), 'in-use');
  await (first as MaildirLock).release();
  t.false(existsSync(join(dir, LOCK_NAME)));
  const again = await take(dir);
  t.not(again, 'in-use');
  await (again as MaildirLock).release();
});

test('a lock of a dead process on this host is broken at once', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, LOCK_NAME), `${hostname()} 999999999 deadbeef\n`);
  const lock = await take(dir);
  t.not(lock, 'in-use');
  t.deepEqual(readdirSync(dir), [LOCK_NAME]); // the stale one is gone, not left aside
  await (lock as MaildirLock).release();
});

test('a lock of another host is respected until it goes stale', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, LOCK_NAME);
  writeFileSync(path, 'otherhost 1234 cafe\n');
  t.is(await take(dir, 60_000), 'in-use');
  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  const lock = await take(dir, 60_000);
  t.not(lock, 'in-use');
  await (lock as MaildirLock).release();
});

test('release does not remove a lock that is no longer ours', async (t) => {
  const dir = tempDir(t);
  const lock = (await take(dir)) as MaildirLock;
  writeFileSync(join(dir, LOCK_NAME), 'otherhost 1 feed\n');
  await lock.release();
  t.is(readFileSync(join(dir, LOCK_NAME), 'latin1'), 'otherhost 1 feed\n');
});

test('a missing maildir is a temporary failure', async (t) => {
  const r = await lockMaildir(join(tempDir(t), 'nope', 'Maildir'), 60_000);
  t.is(r.kind, 'temp');
});
