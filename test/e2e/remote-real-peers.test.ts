// ts/remote against real SMTP servers on loopback (issue 5's proof): qmta's own SMTP
// service (ts/smtpd over a temp queue) and Postfix's smtp-sink from Debian. Checks that
// what arrives is the queued message: byte for byte in qmta's queue (LF line ends, dots
// unstuffed again), and line for line in smtp-sink's dump. smtp-sink's dump format writes
// each received line with a plain newline (man smtp-sink, DUMP FILE FORMAT), so it cannot
// show the wire's CR LF; it does show that the dot-stuffing round-trips.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { needPostfix } from '../../bench/peer-install.js';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { request, testSettings } from './remote-peers.js';
import { startTestServer } from './smtp-harness.js';

const BODY = 'Subject: real peer\n\nfirst line\n.leading dot\n..two dots\nlast\n';

test('qmta -> qmta: both recipients accepted, the peer queue holds the body byte-exact', async (t) => {
  const peer = await startTestServer(t);
  const routes = [{ key: 'example.test', relay: '127.0.0.1', port: peer.port() }];
  const remote = createRemoteDelivery(testSettings({ smtproutes: routes }));
  const res = await remote.deliver(request(t, BODY, ['joe@example.test', 'ann@example.test']));
  t.deepEqual(res.map((r) => [r.address, r.outcome.kind]), [['joe@example.test', 'ok'], ['ann@example.test', 'ok']]);
  const ok = res[0]!.outcome;
  if (ok.kind === 'ok') t.regex(ok.value, /^127\.0\.0\.1 accepted message\.\nRemote host said: 250 /);
  const got = peer.messages();
  t.is(got.length, 1, 'one transaction for both recipients');
  t.deepEqual(got[0]!.recipients, ['joe@example.test', 'ann@example.test']);
  t.is(got[0]!.sender, 'alice@sender.test');
  t.regex(got[0]!.body, /^Received: [^\n]*\n  by mx\.example\.test /, 'the peer prefixed its Received line');
  t.true(got[0]!.body.endsWith(`\n${BODY}`), 'LF line ends kept, dots unstuffed back to the original');
});

test('qmta -> Postfix smtp-sink: accepted, the dump holds the message line for line', async (t) => {
  const tools = needPostfix();
  const sink = join(dirname(tools.smtpSource), 'smtp-sink');
  t.true(existsSync(sink), `smtp-sink beside smtp-source (${sink})`);
  const dump = join(tempDir(t), 'dump');
  const port = await freePort();
  const child = spawn(sink, ['-u', 'root', '-D', dump, `127.0.0.1:${port}`, '10'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => void child.kill());
  const remote = createRemoteDelivery(testSettings({ smtproutes: [{ key: 'sink.test', relay: '127.0.0.1', port }], timeoutConnect: 5 }));
  let res = await remote.deliver(request(t, BODY, ['x@sink.test']));
  // smtp-sink may still be binding its socket on the first try: retry briefly.
  for (let i = 0; i < 20 && res[0]!.outcome.kind === 'temp'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    res = await remote.deliver(request(t, BODY, ['x@sink.test']));
  }
  t.is(res[0]!.outcome.kind, 'ok', stderr);
  t.true(await waitFor(() => existsSync(dump) && readFileSync(dump, 'latin1').includes('last')), 'dump written');
  const text = readFileSync(dump, 'latin1');
  t.regex(text, /X-Client-Addr: 127\.0\.0\.1/);
  t.regex(text, /X-Rcpt-Args: <x@sink\.test>\n/);
  t.true(text.includes(`with ESMTP id`), 'smtp-sink added its Received line');
  t.true(text.endsWith(`\n${BODY}\n`), JSON.stringify(text));
});
