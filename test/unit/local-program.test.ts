// Program delivery exit codes, environment, stdin, output capture and the time limit;
// the Delivered-To loop and hop scan of the header.

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapExit, runProgram } from '../../ts/local/program.js';
import { scanHeader } from '../../ts/local/header-scan.js';
import { REPORT_LIMIT, TOO_LONG } from '../../ts/local/report.js';
import { tempDir } from '../helpers/home.js';

test('exit codes map as qmail-command: 0, 99, permanent sysexits, the rest temporary', (t) => {
  t.is(mapExit(0, null, '').kind, 'continue');
  t.is(mapExit(99, null, '').kind, 'stop');
  for (const c of [100, 64, 65, 70, 76, 77, 78, 112]) t.is(mapExit(c, null, 'x').kind, 'perm', `exit ${c}`);
  for (const c of [1, 2, 75, 111, 101, 127]) t.is(mapExit(c, null, 'x').kind, 'temp', `exit ${c}`);
  const crashed = mapExit(null, 'SIGSEGV', '');
  t.is(crashed.kind, 'temp');
  t.true('text' in crashed && crashed.text.includes('Aack, child crashed.'));
});

test('a program gets the message on stdin, its environment, and its output is captured', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, 'Subject: hi\n\nline\n');
  const r = await runProgram({
    command: 'echo "to=$RECIPIENT"; wc -l; echo err >&2; exit 100', cwd: dir, env: { RECIPIENT: 'joe@here', PATH: '/usr/bin:/bin' },
    bodyPath: body, timeoutMs: 5000,
  });
  t.is(r.kind, 'perm');
  t.regex(r.output, /to=joe@here\n\s*3\n/);
  t.true(r.output.includes('err'));
});

test('a program past its time limit is killed and deferred', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, 'x\n');
  const started = Date.now();
  const r = await runProgram({ command: 'sleep 30', cwd: dir, env: {}, bodyPath: body, timeoutMs: 300 });
  t.is(r.kind, 'temp');
  t.true('text' in r && r.text.includes('timed out'));
  t.true(Date.now() - started < 5000);
});

test('program output is capped at 3000 bytes with qmail\'s note', async (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, 'x\n');
  const r = await runProgram({ command: 'head -c 100000 /dev/zero | tr "\\0" a; exit 111', cwd: dir, env: { PATH: '/usr/bin:/bin' }, bodyPath: body, timeoutMs: 5000 });
  t.is(r.kind, 'temp');
  t.is(r.output.length, REPORT_LIMIT + 1 + TOO_LONG.length);
  t.true(r.output.endsWith(TOO_LONG));
});

test('scanHeader finds our own Delivered-To line only in the header and counts hops', (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, 'Received: a\nDelivered-To: joe@here\nreceived: b\nSubject: x\n\nDelivered-To: bob@here\n');
  t.deepEqual(scanHeader(body, 'Delivered-To: joe@here\n'), { kind: 'ok', value: { looping: true, hops: 3 } });
  t.deepEqual(scanHeader(body, 'Delivered-To: bob@here\n'), { kind: 'ok', value: { looping: false, hops: 3 } });
  // Byte-identical only: a different case is not our line.
  t.deepEqual(scanHeader(body, 'Delivered-To: JOE@here\n'), { kind: 'ok', value: { looping: false, hops: 3 } });
  t.is(scanHeader(join(dir, 'missing'), 'x').kind, 'temp');
});

test('scanHeader reads a huge header in bounded chunks', (t) => {
  const dir = tempDir(t);
  const body = join(dir, 'mess');
  writeFileSync(body, 'X-Long: ' + 'a'.repeat(300_000) + '\n' + 'Received: x\n'.repeat(150) + 'Delivered-To: z@here\n\nbody\n');
  t.deepEqual(scanHeader(body, 'Delivered-To: z@here\n'), { kind: 'ok', value: { looping: true, hops: 151 } });
});
