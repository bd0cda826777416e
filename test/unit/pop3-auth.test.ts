import test from 'ava';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { apopMatches, apopOffered, authenticate, type Authenticator } from '../../ts/pop3d/auth.js';
import { runCheckpassword } from '../../ts/pop3d/checkpassword.js';
import { ok, temp } from '../../ts/outcome.js';

const STAMP = '<1896.697170952@dbc.mtview.ca.us>';

test('APOP digest of RFC 1939 §7 example', (t) => {
  t.true(apopMatches(STAMP, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fb'));
  t.true(apopMatches(STAMP, 'tanstaaf', 'C4C9334BAC560ECC979E58001B3E22FB'));
  t.false(apopMatches(STAMP, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fc'));
  t.false(apopMatches(STAMP, 'tanstaaf', 'short'));
});

const users: Authenticator = {
  verifyPassword: async (u, p) => (u === 'db' && p === 'secret' ? ok(true) : u === 'broken' ? temp('4.3.0', 'passwd unreadable') : ok(false)),
  apopSecret: async (u) => ok(u === 'mrose' ? 'tanstaaf' : undefined),
  anyApopSecret: async () => ok(true),
};
const ctx = { auth: users, checkpasswordTimeoutMs: 5000, timestamp: STAMP };

test('USER/PASS and APOP through the users functions', async (t) => {
  t.deepEqual(await authenticate(ctx, { kind: 'pass', user: 'db', password: 'secret' }), ok({ user: 'db' }));
  t.deepEqual(await authenticate(ctx, { kind: 'pass', user: 'db', password: 'wrong' }), ok('bad'));
  t.deepEqual(await authenticate(ctx, { kind: 'pass', user: 'broken', password: 'x' }), temp('4.3.0', 'passwd unreadable'));
  t.deepEqual(await authenticate(ctx, { kind: 'apop', user: 'mrose', digest: 'c4c9334bac560ecc979e58001b3e22fb' }), ok({ user: 'mrose' }));
  t.deepEqual(await authenticate(ctx, { kind: 'apop', user: 'db', digest: 'c4c9334bac560ecc979e58001b3e22fb' }), ok('bad'));
});

/** A checkpassword in qmail's interface: reads fd 3, logs it, execs its arguments on success. */
function checker(dir: string): string {
  const path = join(dir, 'checkpassword');
  writeFileSync(
    path,
    `#!/bin/bash
IFS= read -r -d '' user <&3; IFS= read -r -d '' pass <&3; IFS= read -r -d '' stamp <&3
printf '%s|%s|%s' "$user" "$pass" "$stamp" > "${dir}/seen"
case "$user:$pass" in
  alice:right) export HOME=/srv/mail/alice; exec "$@" ;;
  crash:*) kill -9 $$ ;;
  slow:*) sleep 5 ;;
  tempfail:*) exit 111 ;;
  *) exit 1 ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

test('checkpassword: fd 3 protocol, exit codes and the home it reports', async (t) => {
  const dir = tempDir(t);
  const prog = checker(dir);
  t.deepEqual(await runCheckpassword([prog], 'alice', 'right', STAMP, 5000), ok({ home: '/srv/mail/alice' }));
  t.is(readFileSync(join(dir, 'seen'), 'latin1'), `alice|right|${STAMP}`);
  t.deepEqual(await runCheckpassword([prog], 'alice', 'wrong', STAMP, 5000), ok('bad'));
  t.is((await runCheckpassword([prog], 'tempfail', 'x', STAMP, 5000)).kind, 'temp');
  t.is((await runCheckpassword([prog], 'crash', 'x', STAMP, 5000)).kind, 'temp');
  t.is((await runCheckpassword([prog], 'slow', 'x', STAMP, 300)).kind, 'temp');
  t.is((await runCheckpassword([join(dir, 'missing')], 'a', 'b', STAMP, 5000)).kind, 'temp');
  t.deepEqual(await runCheckpassword([prog], 'a'.repeat(600), 'b', STAMP, 5000), ok('bad'));
});

test('checkpassword replaces users/passwd for USER/PASS; APOP is then refused without running it', async (t) => {
  const dir = tempDir(t);
  const c = { ...ctx, checkpassword: [checker(dir)] };
  t.deepEqual(await authenticate(c, { kind: 'pass', user: 'alice', password: 'right' }), ok({ user: 'alice', home: '/srv/mail/alice' }));
  t.is(readFileSync(join(dir, 'seen'), 'latin1'), `alice|right|${STAMP}`);
  rmSync(join(dir, 'seen'));
  t.deepEqual(await authenticate(c, { kind: 'apop', user: 'mrose', digest: 'c4c9334bac560ecc979e58001b3e22fb' }), ok('bad'));
  t.false(existsSync(join(dir, 'seen')));
});

test('APOP is offered only when some user has a secret and no checkpassword runs', async (t) => {
  const none: Authenticator = { ...users, anyApopSecret: async () => ok(false) };
  const broken: Authenticator = { ...users, anyApopSecret: async () => temp('4.3.0', 'users/apop unreadable') };
  t.deepEqual(await apopOffered(users, undefined), ok(true));
  t.deepEqual(await apopOffered(none, undefined), ok(false));
  t.deepEqual(await apopOffered(users, ['/bin/checkpassword']), ok(false));
  t.is((await apopOffered(broken, undefined)).kind, 'temp');
});
