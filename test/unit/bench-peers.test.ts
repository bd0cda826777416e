// The SMTP benchmark's harness against its two peers: smtp-source (bench/load-smtp-source.ts)
// sending to the bare Node sink (bench/peer-sink.ts) and to the private Postfix instance
// (bench/peer-postfix.ts), measured by bench/load-e2e.ts. Runs as root (Postfix's master
// does); installs Debian package postfix when missing. Every peer is stopped in
// t.teardown, so a failing assertion leaves no process behind.

import test from 'ava';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { measureEndToEnd } from '../../bench/load-e2e.js';
import { measureSmtpLoad } from '../../bench/load-run.js';
import { runSmtpSource } from '../../bench/load-smtp-source.js';
import { startPostfixPeer } from '../../bench/peer-postfix.js';
import { startNodeSink } from '../../bench/peer-sink.js';

test('the Node sink counts the 20 messages smtp-source sends, with and without connection reuse', async (t) => {
  const sink = await startNodeSink();
  t.teardown(() => sink.stop());
  const load = { messages: 10, size: 4096, connections: 3, recipients: (j: number) => `u${j}@sink.test` };
  const plain = await runSmtpSource({ ...load, host: '127.0.0.1', port: sink.port, reuse: false });
  t.is(plain.streams, 3, 'a recipient function gives one smtp-source per connection');
  t.true(plain.rate > 0 && plain.seconds > 0);
  // The sink reports its count every 10 ms; a load is measured from an idle server.
  for (let i = 0; i < 100 && sink.count() < 10; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(sink.count(), 10);
  const target = { port: sink.port, pids: [sink.pid], delivered: sink.count };
  const r = await measureSmtpLoad(target, { ...load, reuse: true, timeoutMs: 10_000 });
  t.is(r.delivered, 10, 'counted from where the sink stood');
  t.is(sink.count(), 20);
  t.true(r.endToEndSeconds >= r.acceptanceSeconds && r.acceptanceRate > 0);
  t.true(r.peakPssBytes > 0 && r.peakRssBytes >= r.peakPssBytes && r.peakHwmBytes > 0);
});

test('the Postfix peer delivers 100 messages into its users\' maildirs, and stop() leaves nothing behind', async (t) => {
  const peer = await startPostfixPeer({ users: 2, domain: 'peer.test' });
  t.teardown(() => peer.stop());
  const r = await measureEndToEnd({
    send: () => runSmtpSource({ host: '127.0.0.1', port: peer.port, messages: 100, size: 4096, connections: 4, recipients: peer.addresses, reuse: true }),
    delivered: peer.countDelivered, expected: 100, pids: [peer.masterPid], timeoutMs: 30_000,
  });
  t.is(r.delivered, 100);
  t.is(r.sent.streams, 2, 'two recipients: two smtp-source processes of two connections');
  t.true(r.endToEndSeconds >= r.acceptanceSeconds);
  // About 1.5 ms of CPU a message across Postfix's processes, in 10 ms clock ticks.
  t.true(r.cpuSeconds > 0, 'Postfix\'s process tree spent CPU on the load');
  for (const user of peer.users) {
    const fresh = readdirSync(join(peer.maildirRoot, user, 'Maildir', 'new'));
    t.is(fresh.length, 50, `${user} got its half`);
    const text = readFileSync(join(peer.maildirRoot, user, 'Maildir', 'new', fresh[0] ?? ''), 'utf8');
    t.true(text.includes(`Delivered-To: ${user}@peer.test`) && text.length > 4096);
  }
  await peer.stop();
  t.false(existsSync(peer.root));
  t.false(existsSync(`/proc/${peer.masterPid}/cmdline`) && readFileSync(`/proc/${peer.masterPid}/cmdline`).length > 0, 'master is gone');
});

test('a refused recipient makes runSmtpSource reject with smtp-source\'s complaint; stop() can keep the files', async (t) => {
  const peer = await startPostfixPeer({ users: 1, domain: 'peer.test' });
  t.teardown(() => peer.stop());
  const load = { host: '127.0.0.1', port: peer.port, messages: 2, size: 100, connections: 1, reuse: false };
  const e = await t.throwsAsync(runSmtpSource({ ...load, recipients: ['nobody@peer.test'] }));
  t.regex(e?.message ?? '', /: 550 5\.1\.1 <nobody@peer\.test>: Recipient address rejected: User unknown in virtual mailbox table$/);
  await t.throwsAsync(runSmtpSource({ ...load, recipients: [] }), { message: /at least one recipient/ });
  t.teardown(() => rmSync(peer.root, { recursive: true, force: true }));
  await peer.stop({ remove: false });
  t.regex(readFileSync(join(peer.root, 'maillog'), 'utf8'), /User unknown in virtual mailbox table/, 'kept: Postfix logged the refusal');
});

test('measureEndToEnd rejects when delivery never completes, and when the load fails', async (t) => {
  const delivered = () => 3;
  await t.throwsAsync(measureEndToEnd({ send: async () => 0, delivered, expected: 5, pids: [process.pid], timeoutMs: 200 }), {
    message: /only 3 of 5 messages delivered/,
  });
  await t.throwsAsync(measureEndToEnd({ send: () => Promise.reject(new Error('load broke')), delivered, expected: 1, pids: [process.pid] }), {
    message: 'load broke',
  });
});

/** Milliseconds from connect to the 220 greeting, the least of three tries. */
async function greetingMs(port: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = Date.now();
    const s = connect(port, '127.0.0.1');
    await once(s, 'data');
    best = Math.min(best, Date.now() - start);
    s.destroy();
  }
  return best;
}

test('the sink greets at once; smtp-server as shipped waits 100 ms before every greeting', async (t) => {
  const [sink, shipped] = await Promise.all([startNodeSink(), startNodeSink({ asShipped: true })]);
  t.teardown(() => Promise.all([sink.stop(), shipped.stop()]));
  t.true((await greetingMs(shipped.port)) >= 95);
  t.true((await greetingMs(sink.port)) < 60);
});

test('loads smtp-source would misread are refused before anything is sent', async (t) => {
  const load = { host: '127.0.0.1', port: 1, messages: 2, size: 10, connections: 1, reuse: false, recipients: ['a@x.test'] };
  for (const recipients of [['a b@x.test'], ['<a@x.test>'], ['no-domain'], () => '']) {
    await t.throwsAsync(runSmtpSource({ ...load, recipients }), { message: /not a recipient address/ });
  }
  for (const bad of [{ messages: 1.5 }, { messages: 0 }, { connections: 0 }, { size: -1 }, { size: 2.5 }]) {
    await t.throwsAsync(runSmtpSource({ ...load, ...bad }), { message: /at least one recipient, connection and message/ });
  }
});
