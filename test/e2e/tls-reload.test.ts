// SIGHUP reloads the TLS certificate: `qmta start` with implicit-TLS SMTP and POP3
// listeners, the pair in control/ replaced by a new one (a renewal), then SIGHUP; new
// handshakes on both present the new certificate, and a broken pair (key missing) is
// refused with the old certificate kept.

import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { defaultOwner, tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SHA-256 fingerprint of the certificate a TLS listener presents, or undefined. */
function fingerprint(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', () => resolve(undefined));
  });
}

async function newPair(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${cn}.pem`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`,
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  // As the README says: qmta (its account, when started as root) rereads the key on SIGHUP.
  chownSync(key, process.getuid!(), (await defaultOwner()).gid);
  chmodSync(key, 0o640);
  return { cert, key };
}

test('SIGHUP serves a renewed certificate on SMTP and POP3, and keeps the old one when the new pair is broken', async (t) => {
  t.timeout(90_000);
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const control = join(home, 'control');
  mkdirSync(control, { recursive: true });
  writeFileSync(join(control, 'me'), 'mx.example.test\n');
  const first = await newPair(dir, 'first');
  renameSync(first.cert, join(control, 'tlscert.pem'));
  renameSync(first.key, join(control, 'tlskey.pem'));
  const [smtps, pop3s] = [await freePort(), await freePort()];
  const args = [MAIN, '--home', home, 'start', '--smtp', '127.0.0.1:0', '--submission', '127.0.0.1:0',
    '--smtps', `127.0.0.1:${smtps}`, '--pop3', '127.0.0.1:0', '--pop3s', `127.0.0.1:${pop3s}`];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const old = await until('smtps', () => fingerprint(smtps));
  t.is(await until('pop3s', () => fingerprint(pop3s)), old, 'one certificate for both');

  const renewed = await newPair(dir, 'renewed');
  renameSync(renewed.cert, join(control, 'tlscert.pem'));
  renameSync(renewed.key, join(control, 'tlskey.pem'));
  child.kill('SIGHUP');
  const fresh = await until('the renewed certificate', async () => {
    const f = await fingerprint(smtps);
    return f !== undefined && f !== old ? f : undefined;
  });
  t.is(await until('pop3s renewed', async () => { const f = await fingerprint(pop3s); return f === fresh ? f : undefined; }), fresh);

  rmSync(join(control, 'tlskey.pem'));
  child.kill('SIGHUP');
  await sleep(1000);
  t.is(await fingerprint(smtps), fresh, 'a broken pair is refused: SMTP keeps serving');
  t.is(await fingerprint(pop3s), fresh, 'a broken pair is refused: POP3 keeps serving');
  child.kill('SIGTERM');
});
