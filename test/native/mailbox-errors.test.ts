// The mailbox wrappers against real failing filesystems: a read-only folder, a full
// disk (a tiny tmpfs) and the file-size limit (RLIMIT_FSIZE in a child process). Each
// must give the errno table's class and leave no message behind: nothing in new/ or
// tmp/, an mbox with exactly the bytes it had before.

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deliveryHeaders, mailbox } from '../../ts/mailbox/index.js';
import { tempDir } from '../helpers/home.js';

const HEADERS = deliveryHeaders('a@example.org', 'u@example.net');
const BIG = Buffer.alloc(256 * 1024, 'From here\nline of text\n');

/** Mounts a tmpfs on `dir` (root only); false, with the reason logged, where impossible. */
function mountTmpfs(t: ExecutionContext, dir: string, options: string): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'qmta-test', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.log(`not checked on this machine: cannot mount a tmpfs (${(r.stderr || r.error?.message || '').trim()})`);
    return false;
  }
  t.teardown(() => void spawnSync('umount', ['-l', dir]));
  return true;
}

function seedMbox(dir: string, mbox: string): Buffer {
  const small = join(dir, 'small');
  writeFileSync(small, 'first\n');
  const r = mailbox.deliverMboxSync({ mbox, sender: 'x@y', headers: HEADERS, bodyPath: small });
  if (r.kind !== 'ok') throw new Error(`seeding the mbox failed: ${r.status} ${r.text}`);
  return readFileSync(mbox);
}

test('an unwritable folder is a temporary failure', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'body');
  writeFileSync(body, 'x\n');
  const box = join(dir, 'box');
  mkdirSync(box);
  const root = process.getuid?.() === 0;
  if (root) {
    // root ignores mode bits, so make the folder a read-only filesystem instead.
    if (!mountTmpfs(t, box, 'size=1m')) return t.pass();
    mkdirSync(join(box, 'Maildir'));
    spawnSync('mount', ['-o', 'remount,ro', box]);
  } else {
    chmodSync(box, 0o500);
  }
  const md = await mailbox.deliverMaildir({ maildir: join(box, 'Maildir'), headers: HEADERS, bodyPath: body });
  t.like(md, { kind: 'temp', status: '4.3.0' });
  const mb = mailbox.deliverMboxSync({ mbox: join(box, 'mbox'), sender: '', headers: HEADERS, bodyPath: body });
  t.like(mb, { kind: 'temp', status: '4.3.0' });
  t.regex(md.kind === 'temp' ? md.text : '', root ? /Read-only file system/ : /Permission denied/);
});

test('a full disk is temporary 4.3.1 and leaves no partial message', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'body');
  writeFileSync(body, BIG);
  const tiny = join(dir, 'tiny');
  mkdirSync(tiny);
  if (!mountTmpfs(t, tiny, 'size=64k')) return t.pass();
  const md = join(tiny, 'Maildir');
  t.like(await mailbox.deliverMaildir({ maildir: md, headers: HEADERS, bodyPath: body }), { kind: 'temp', status: '4.3.1' });
  t.deepEqual(readdirSync(join(md, 'new')), []);
  t.deepEqual(readdirSync(join(md, 'tmp')), []);
  const mbox = join(tiny, 'mbox');
  const before = seedMbox(dir, mbox);
  const r = mailbox.deliverMboxSync({ mbox, sender: 'big@x', headers: HEADERS, bodyPath: body });
  t.like(r, { kind: 'temp', status: '4.3.1' });
  t.deepEqual(readFileSync(mbox), before);
});

test('the file-size limit (EFBIG) is permanent 5.2.2 and leaves no partial message', (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'body');
  writeFileSync(body, BIG);
  const mbox = join(dir, 'mbox');
  const before = seedMbox(dir, mbox);
  const md = join(dir, 'Maildir');
  const wrapper = fileURLToPath(new URL('../../ts/mailbox/index.js', import.meta.url));
  const script = [
    `import { mailbox, deliveryHeaders } from ${JSON.stringify(wrapper)};`,
    `const h = deliveryHeaders('a@example.org', 'u@example.net');`,
    `const m = await mailbox.deliverMaildir({ maildir: ${JSON.stringify(md)}, headers: h, bodyPath: ${JSON.stringify(body)} });`,
    `const b = mailbox.deliverMboxSync({ mbox: ${JSON.stringify(mbox)}, sender: 'x', headers: h, bodyPath: ${JSON.stringify(body)} });`,
    'console.log(JSON.stringify([m, b]));',
  ].join('\n');
  const r = spawnSync('prlimit', ['--fsize=65536', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const [m, b] = JSON.parse(r.stdout) as [{ kind: string; status: string }, { kind: string; status: string }];
  t.like(m, { kind: 'perm', status: '5.2.2' });
  t.like(b, { kind: 'perm', status: '5.2.2' });
  t.deepEqual(readdirSync(join(md, 'new')), []);
  t.deepEqual(readdirSync(join(md, 'tmp')), []);
  t.deepEqual(readFileSync(mbox), before);
});
