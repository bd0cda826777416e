// ts/remote against hand-written peers that misbehave: bytes on the wire (bare LF, bare
// CR, dot-stuffing), connections dropped mid-DATA and after the dot, a server that never
// answers, broken STARTTLS (plaintext fallback, remembered), HELO fallback, a dead
// address skipped for the next one, downed-host memory after connect timeouts.

import test from 'ava';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { rawPeer, request, routedTo, scriptedPeer, testSettings } from './remote-peers.js';

test('a queue file with bare LF, bare CR and CR LF arrives as CR LF, dot-stuffed, byte for byte', async (t) => {
  const peer = await scriptedPeer(t, { ehlo: ['PIPELINING', 'SIZE 1000000', '8BITMIME'] });
  const remote = createRemoteDelivery(routedTo(peer.port));
  const body = 'Subject: dots\n\n.leading dot\n..two\nbare\rcr\r\ncrlf\n.\nlast line without newline';
  const res = await remote.deliver(request(t, body, ['a@d.test']));
  t.is(res[0]!.outcome.kind, 'ok');
  const expected = 'Subject: dots\r\n\r\n..leading dot\r\n...two\r\nbare\r\ncr\r\ncrlf\r\n..\r\nlast line without newline\r\n.\r\n';
  t.is(peer.sessions[0]!.data.toString('latin1'), expected);
  t.deepEqual(peer.sessions[0]!.commands.slice(0, 4), ['EHLO sender.test', 'MAIL FROM:<alice@sender.test> SIZE=84 BODY=8BITMIME', 'RCPT TO:<a@d.test>', 'DATA']);
  t.is(expected.length - 3 - 3, 84, 'SIZE counts CR LF, not stuffing nor the terminator');
});

// The body is larger than the loopback socket buffers, so the drop comes before our dot.
test('a connection dropped mid-DATA is temporary, without "possible duplicate"', async (t) => {
  const peer = await scriptedPeer(t, { dropAfterDataBytes: 10 });
  const res = await createRemoteDelivery(routedTo(peer.port)).deliver(request(t, `x\n${'y'.repeat(20_000_000)}\n`, ['a@d.test', 'b@d.test']));
  for (const r of res) {
    t.like(r.outcome, { kind: 'temp', status: '4.4.2' });
    if (r.outcome.kind === 'temp') {
      t.regex(r.outcome.text, /^Connected to 127\.0\.0\.1 but connection died/);
      t.notRegex(r.outcome.text, /duplicate/);
    }
  }
});

test('a connection dropped after the final dot is temporary with "Possible duplicate!"', async (t) => {
  const peer = await scriptedPeer(t, { dropAfterDot: true });
  const res = await createRemoteDelivery(routedTo(peer.port)).deliver(request(t, 'x\n', ['a@d.test']));
  t.like(res[0]!.outcome, { kind: 'temp', status: '4.4.2' });
  if (res[0]!.outcome.kind === 'temp') t.regex(res[0]!.outcome.text, /connection died\. Possible duplicate!/);
});

test('a server that never answers times out (timeoutremote) as a temporary failure', async (t) => {
  const peer = await scriptedPeer(t, { silent: true });
  // The reference: the same wait with a 3 s limit, started first. The 1 s limit must end
  // its wait before that one does (load delays both alike, unlike a wall-clock bound).
  let referenceDone = false;
  const reference = createRemoteDelivery(routedTo(peer.port, { timeoutRemote: 3 })).deliver(request(t, 'x\n', ['b@d.test']))
    .finally(() => { referenceDone = true; });
  const res = await createRemoteDelivery(routedTo(peer.port, { timeoutRemote: 1 })).deliver(request(t, 'x\n', ['a@d.test']));
  t.like(res[0]!.outcome, { kind: 'temp', status: '4.4.2' });
  if (res[0]!.outcome.kind === 'temp') t.regex(res[0]!.outcome.text, /timed out waiting for a reply/);
  t.false(referenceDone, 'timed out at timeoutremote (1 s), before the 3 s reference');
  t.like((await reference)[0]!.outcome, { kind: 'temp', status: '4.4.2' });
});

test('broken STARTTLS: reconnect in plaintext at once, and remember the host', async (t) => {
  const peer = await scriptedPeer(t, {
    ehlo: ['PIPELINING', 'STARTTLS'],
    startTls: (s: Socket) => { s.write('220 go ahead\r\n'); setTimeout(() => s.end('this is not a TLS server hello\r\n'), 20); },
  });
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 0 }));
  const first = await remote.deliver(request(t, 'x\n', ['a@d.test']));
  t.is(first[0]!.outcome.kind, 'ok');
  const second = await remote.deliver(request(t, 'x\n', ['b@d.test']));
  t.is(second[0]!.outcome.kind, 'ok');
  t.is(peer.connections(), 3, 'broken TLS, plaintext retry, then plaintext straight away');
  t.deepEqual(peer.sessions.map((s) => s.commands.includes('STARTTLS')), [true, false, false]);
  t.is(peer.sessions.filter((s) => s.data.length > 0).length, 2);
});

test('EHLO refused: HELO fallback, no ESMTP parameters on MAIL', async (t) => {
  const peer = await scriptedPeer(t, { ehlo: null });
  const res = await createRemoteDelivery(routedTo(peer.port)).deliver(request(t, 'x\n', ['a@d.test'], ''));
  t.is(res[0]!.outcome.kind, 'ok');
  t.deepEqual(peer.sessions[0]!.commands.slice(0, 4), ['EHLO sender.test', 'HELO sender.test', 'MAIL FROM:<>', 'RCPT TO:<a@d.test>']);
});

test('an address that refuses connections is skipped for the next one', async (t) => {
  const peer = await scriptedPeer(t, {});
  const dns = { resolveMx: async () => [{ exchange: 'mx.d.test', priority: 10 }], resolve4: async () => ['127.0.0.5', '127.0.0.1'], resolve6: async () => [] as string[] };
  const res = await createRemoteDelivery(testSettings({ port: peer.port }), { dns }).deliver(request(t, 'x\n', ['a@d.test']));
  t.is(res[0]!.outcome.kind, 'ok');
  if (res[0]!.outcome.kind === 'ok') t.regex(res[0]!.outcome.value, /^127\.0\.0\.1 accepted/);
});

/** A listener that never accepts, with its backlog filled, so new connects time out. */
async function blackHole(t: import('ava').ExecutionContext): Promise<number> {
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)']);
  t.teardown(() => { py.kill(); });
  const port = await new Promise<number>((resolve) => py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers: Socket[] = [];
  t.teardown(() => fillers.forEach((s) => s.destroy()));
  for (let i = 0; i < 8; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => { s.once('connect', () => resolve(true)); setTimeout(() => resolve(false), 300); });
    if (!connected) return port;
  }
  throw new Error('could not fill the backlog');
}

test('connect timeouts: temporary, and after two the host is skipped without waiting', async (t) => {
  const port = await blackHole(t);
  const clock = { t: Date.now() };
  const remote = createRemoteDelivery(routedTo(port, { timeoutConnect: 1 }), { now: () => clock.t });
  const firstStarted = Date.now();
  const first = await remote.deliver(request(t, 'x\n', ['a@d.test']));
  const firstTook = Date.now() - firstStarted; // a connect wait (1 s) on this machine, now
  t.like(first[0]!.outcome, { kind: 'temp', status: '4.4.1' });
  if (first[0]!.outcome.kind === 'temp') t.regex(first[0]!.outcome.text, /timed out/);
  clock.t += 130_000;
  await remote.deliver(request(t, 'x\n', ['a@d.test']));
  t.true(remote.downed.isDown('127.0.0.1'));
  const started = Date.now();
  const third = await remote.deliver(request(t, 'x\n', ['a@d.test']));
  const took = Date.now() - started;
  t.true(took < firstTook / 2, `skipped, not waited for: ${took} ms, a connect timeout took ${firstTook} ms`);
  if (third[0]!.outcome.kind === 'temp') t.regex(third[0]!.outcome.text, /is down: recent connect timeouts/);
  else t.fail('expected a temporary failure');
});

test('a slow domain holds only its per-domain share of the slots', async (t) => {
  const slow = await scriptedPeer(t, { silent: true });
  const fast = await scriptedPeer(t, {});
  const settings = testSettings({
    timeoutRemote: 5, concurrencyRemote: 2, concurrencyPerDomain: 1,
    smtproutes: [{ key: 'slow.test', relay: '127.0.0.1', port: slow.port }, { key: 'fast.test', relay: '127.0.0.1', port: fast.port }],
  });
  const remote = createRemoteDelivery(settings);
  // slow.test's deliveries end only at their 5 s time-out: fast.test done before any of
  // them ended did not wait for a slot behind them (an event order, not a wall-clock bound).
  let slowEnded = 0;
  const slowOnes = [1, 2, 3].map((i) => remote.deliver(request(t, 'x\n', [`u${i}@slow.test`])).finally(() => { slowEnded++; }));
  const fastOne = await remote.deliver(request(t, 'x\n', ['u@fast.test']));
  t.is(fastOne[0]!.outcome.kind, 'ok');
  t.is(slowEnded, 0, 'fast.test did not wait behind slow.test');
  t.is(slow.connections(), 1, 'slow.test never had more than one connection at a time so far');
  const done = await Promise.all(slowOnes);
  t.true(done.every(([r]) => r!.outcome.kind === 'temp'));
});

test('close() ends open connections (temporary) and defers later deliveries', async (t) => {
  const silent = await scriptedPeer(t, { silent: true });
  const remote = createRemoteDelivery(routedTo(silent.port, { timeoutRemote: 30 }));
  const pending = remote.deliver(request(t, 'x\n', ['a@d.test']));
  while (silent.connections() === 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  await remote.close();
  const [r] = await pending;
  t.like(r!.outcome, { kind: 'temp', status: '4.4.2' });
  const [later] = await remote.deliver(request(t, 'x\n', ['b@d.test']));
  t.like(later!.outcome, { kind: 'temp', status: '4.3.2' });
});

test('a server sending an endless reply line is cut off: temporary, bounded memory', async (t) => {
  const flood = await rawPeer(t, (s) => { s.write(`220 ${'x'.repeat(100_000)}`); });
  const res = await createRemoteDelivery(routedTo(flood.port)).deliver(request(t, 'x\n', ['a@d.test']));
  t.like(res[0]!.outcome, { kind: 'temp', status: '4.4.2' });
  if (res[0]!.outcome.kind === 'temp') t.regex(res[0]!.outcome.text, /reply line too long/);
});
