// A maildir writer killed with SIGKILL in the middle of its work: every file that made
// it into new/ is a complete message; whatever was cut short stays in tmp/ only.

import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { deliveryHeaders } from '../../ts/mailbox/index.js';
import { tempDir } from '../helpers/home.js';

const HEADERS = deliveryHeaders('a@example.org', 'u@example.net');

/** Starts a child that delivers `body` into `maildir` in a loop, sync and async mixed. */
function startWriter(maildir: string, body: string) {
  const wrapper = fileURLToPath(new URL('../../ts/mailbox/index.js', import.meta.url));
  const script = [
    `import { mailbox, deliveryHeaders } from ${JSON.stringify(wrapper)};`,
    `const d = { maildir: ${JSON.stringify(maildir)}, headers: deliveryHeaders('a@example.org', 'u@example.net'), bodyPath: ${JSON.stringify(body)} };`,
    'console.log("ready");',
    'for (;;) { mailbox.deliverMaildirSync(d); await Promise.all([mailbox.deliverMaildir(d), mailbox.deliverMaildir(d)]); }',
  ].join('\n');
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('SIGKILL during maildir deliveries never leaves a partial file in new/', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'body');
  const bytes = Buffer.alloc(8 * 1024 * 1024, 'From x\n.\nline of body text\n');
  writeFileSync(body, bytes);
  const whole = Buffer.concat([HEADERS, bytes]);
  const maildir = join(dir, 'Maildir');
  for (const delayMs of [150, 400, 700]) {
    const child = startWriter(maildir, body);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await sleep(delayMs);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  const delivered = readdirSync(join(maildir, 'new'));
  t.log(`${delivered.length} complete deliveries, ${readdirSync(join(maildir, 'tmp')).length} files left in tmp/`);
  t.true(delivered.length > 0, 'the writer got some deliveries done');
  for (const name of delivered) t.true(readFileSync(join(maildir, 'new', name)).equals(whole), name);
});
