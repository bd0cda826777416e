// STLS (RFC 2595) and implicit TLS, plus the checkpassword interface, over loopback.
import test from 'ava';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { tempDir } from '../helpers/home.js';
import { login, makeMaildir, putMessage, RawClient, selfSigned, startTestPop3 } from './pop3-harness.js';

test('STLS: bytes pipelined before the handshake are thrown away', async (t) => {
  const home = tempDir(t);
  makeMaildir(home);
  const { key, cert } = selfSigned(t);
  const s = await startTestPop3(t, { alice: { password: 'pw', home } }, { plaintext: false, tls: { key, cert } });
  const c = await RawClient.open(s.port);
  await c.line();
  t.true((await c.multi('CAPA')).lines.includes('STLS'));
  c.socket.write('STLS\r\nUSER alice\r\n'); // the injected USER must not survive
  t.is(await c.line(), '+OK begin TLS negotiation');
  c.socket.removeAllListeners('data');
  const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
  await new Promise<void>((r) => secure.once('secureConnect', () => r()));
  const lines: string[] = [];
  secure.on('data', (d: Buffer) => lines.push(...d.toString('latin1').split('\r\n').filter(Boolean)));
  secure.write('PASS pw\r\nCAPA\r\nSTLS\r\nQUIT\r\n');
  await new Promise<void>((r) => secure.once('end', () => r()));
  t.is(lines[0], '-ERR USER first');
  t.true(lines.includes('USER'));
  t.false(lines.includes('STLS'));
  t.is(lines.at(-2), '-ERR STLS not available');
  t.is(lines.at(-1), '+OK bye');
});

test('STLS without a certificate is refused', async (t) => {
  const s = await startTestPop3(t, {});
  const c = await RawClient.open(s.port);
  await c.line();
  t.is(await c.cmd('STLS'), '-ERR STLS not available');
});

test('pop3s: a client that never starts the handshake is dropped; plaintext is refused', async (t) => {
  const { key, cert } = selfSigned(t);
  const s = await startTestPop3(t, {}, { tls: { key, cert }, listenTls: ['127.0.0.1:0'], idleTimeoutMs: 300 });
  const start = Date.now();
  const silent = await RawClient.open(s.tlsPort as number);
  await silent.waitClosed();
  t.true(Date.now() - start >= 250);
  const garbage = await RawClient.open(s.tlsPort as number);
  garbage.socket.write('USER alice\r\n'); // plaintext on the TLS port: refused by TLS
  await garbage.waitClosed();
});

test('checkpassword program: fd 3 credentials, its HOME chooses the maildir', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'bob');
  const maildir = makeMaildir(home);
  putMessage(maildir, 'Subject: cp\n\nvia checkpassword\n');
  const prog = join(dir, 'checkpassword');
  writeFileSync(prog, `#!/bin/bash
IFS= read -r -d '' user <&3; IFS= read -r -d '' pass <&3
[ "$user:$pass" = "bob:hunter2" ] || exit 1
export HOME=${home}; exec "$@"
`);
  chmodSync(prog, 0o755);
  const s = await startTestPop3(t, {}, { checkpassword: [prog] });
  const c = await login(s.port, 'bob', 'hunter2');
  t.is(await c.cmd('STAT'), '+OK 1 34');
  await c.cmd('QUIT');
  const bad = await RawClient.open(s.port);
  await bad.line();
  await bad.cmd('USER bob');
  t.is(await bad.cmd('PASS wrong'), '-ERR [AUTH] authentication failed');
});
