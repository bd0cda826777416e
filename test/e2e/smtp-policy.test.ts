// Acceptance policy over the wire: open-relay probes, rcpthosts, relay clients, RCPT-time
// validation, badmailfrom, submission AUTH, deny list, connection limits, BDAT, queue failures.

import test from 'ava';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { perm, temp } from '../../ts/outcome.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';
import { RawClient, startTestServer } from './smtp-harness.js';

async function session(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  await c.reply();
  c.send('EHLO probe.test\r\n');
  await c.reply();
  return c;
}

async function say(c: RawClient, line: string): Promise<string> {
  c.send(`${line}\r\n`);
  return c.reply();
}

test('open-relay probe fails for a client outside relayclients', async (t) => {
  const s = await startTestServer(t, { relayClients: ['192.0.2.0/24'] });
  const c = await session(s.port());
  t.regex(await say(c, 'MAIL FROM:<spammer@remote.test>'), /^250 2\.1\.0/);
  for (const rcpt of ['victim@far.away', 'x%far.away@example.test', '@example.test:victim@far.away', 'a!b@example.test', 'v@EXAMPLE.test.evil']) {
    t.regex(await say(c, `RCPT TO:<${rcpt}>`), /^553 5\.7\.1 /, rcpt);
  }
  t.regex(await say(c, 'RCPT TO:<bob@Example.TEST>'), /^250 2\.1\.5/);
  t.regex(await say(c, 'RCPT TO:<postmaster>'), /^250 2\.1\.5/);
  c.close();
});

test('relay clients (default loopback), subdomain rcpthosts and authenticated users may relay', async (t) => {
  const s = await startTestServer(t, { rcpthosts: ['example.test', '.sub.test'], authWithoutTls: true }, { checkPassword: async (u, p) => u === 'bob' && p === 'pw' });
  const c = await session(s.port());
  await say(c, 'MAIL FROM:<a@remote.test>');
  t.regex(await say(c, 'RCPT TO:<x@far.away>'), /^250/);
  t.regex(await say(c, 'RCPT TO:<x@deep.sub.test>'), /^250/);
  c.close();
  const n = await startTestServer(t, { relayClients: [], authWithoutTls: true }, { checkPassword: async (u, p) => u === 'bob' && p === 'pw' });
  const d = await session(n.port());
  const guessed = Date.now();
  t.regex(await say(d, 'AUTH PLAIN AGJvYgB3cm9uZw=='), /^535 5\.7\.8/);
  t.true(Date.now() - guessed >= 900, 'a failed AUTH is answered after the delay');
  t.regex(await say(d, `AUTH PLAIN ${Buffer.from('\0bob@example.test\0pw').toString('base64')}`), /^235 2\.7\.0/);
  await say(d, 'MAIL FROM:<bob@example.test>');
  t.regex(await say(d, 'RCPT TO:<x@far.away>'), /^250/);
  d.close();
});

test('recipients are validated at RCPT time; lookup trouble is temporary', async (t) => {
  const validateRecipient = async (a: string) => {
    if (a.startsWith('known@')) return true;
    if (a.startsWith('broken@')) throw new Error('lookup exploded');
    if (a.startsWith('busy@')) return temp('4.2.1', 'mailbox busy');
    if (a.startsWith('gone@')) return perm('5.1.6', 'mailbox moved');
    return false;
  };
  const s = await startTestServer(t, {}, { validateRecipient });
  const c = await session(s.port());
  await say(c, 'MAIL FROM:<a@remote.test>');
  t.regex(await say(c, 'RCPT TO:<known@example.test>'), /^250 2\.1\.5/);
  t.regex(await say(c, 'RCPT TO:<nobody@example.test>'), /^550 5\.1\.1 /);
  t.regex(await say(c, 'RCPT TO:<broken@example.test>'), /^451 4\.3\.0 /);
  t.regex(await say(c, 'RCPT TO:<busy@example.test>'), /^451 4\.2\.1 mailbox busy/);
  t.regex(await say(c, 'RCPT TO:<gone@example.test>'), /^550 5\.1\.6 mailbox moved/);
  c.close();
});

test('badmailfrom (exact and @domain) and submission without AUTH are refused at MAIL', async (t) => {
  const s = await startTestServer(t, { badmailfrom: ['Spam@Bad.test', '@worse.test'] });
  const c = await session(s.port());
  t.regex(await say(c, 'MAIL FROM:<spam@bad.test>'), /^553 5\.7\.1 /);
  t.regex(await say(c, 'MAIL FROM:<anyone@WORSE.test>'), /^553 5\.7\.1 /);
  t.regex(await say(c, 'MAIL FROM:<ok@bad.test>'), /^250/);
  c.close();
  const sub = await session(s.port('submission'));
  t.regex(await say(sub, 'MAIL FROM:<a@example.test>'), /^530 5\.7\.0 /);
  t.regex(await say(sub, 'AUTH PLAIN AGJvYgBwdw=='), /^502 5\.5\.1/);
  sub.close();
});

test('deny list gets 554 at connect; per-IP limit gets 421 4.7.0', async (t) => {
  const denied = await startTestServer(t, { deny: ['127.0.0.0/8'] });
  const c = await RawClient.open(denied.port());
  t.regex(await c.reply(), /^554 5\.7\.1 /);
  t.true(await c.waitClose());
  const s = await startTestServer(t, { maxPerIp: 2 });
  const a = await RawClient.open(s.port());
  const b = await RawClient.open(s.port());
  t.regex(await a.reply(), /^220 /);
  t.regex(await b.reply(), /^220 /);
  const third = await RawClient.open(s.port());
  t.regex(await third.reply(), /^421 4\.7\.0 /);
  a.close();
  // The slot frees when the server sees the close: a loaded machine may take a moment.
  const again = await until('a freed slot', async () => {
    const c2 = await RawClient.open(s.port());
    if (/^220 /.test(await c2.reply())) return c2;
    c2.close();
    return undefined;
  }, 5_000);
  for (const x of [b, third, again]) x.close();
});

test('BDAT chunks land in the queue with LF line ends', async (t) => {
  const s = await startTestServer(t);
  const c = await session(s.port());
  const part1 = 'Subject: chunked\r\n\r\nfirst\r';
  const part2 = '\n.second\r\n';
  c.send(`MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT ${part1.length}\r\n${part1}BDAT ${part2.length} LAST\r\n${part2}`);
  const replies = await c.replies(4);
  t.regex(replies[3]!, /^250 2\.0\.0 ok \d+/);
  t.true(s.messages()[0]!.body.endsWith('Subject: chunked\n\nfirst\n.second\n'));
  c.close();
});

test('a queue failure is 451 4.3.0, never 5xx and never a false 250', async (t) => {
  const s = await startTestServer(t);
  const c = await session(s.port());
  await say(c, 'MAIL FROM:<a@remote.test>');
  await say(c, 'RCPT TO:<bob@example.test>');
  rmSync(s.queue.root, { recursive: true, force: true });
  // The queue may fail when the writer opens (DATA) or, creating files lazily, at commit.
  const data = await say(c, 'DATA');
  const end = data.startsWith('354') ? await say(c, 'Subject: x\r\n\r\nbody\r\n.') : data;
  t.regex(end, /^451 4\.3\.0 /);
  t.regex(await say(c, 'NOOP'), /^250 /);
  c.close();
});

test('IPv6 listener: ::1 is a default relay client', async (t) => {
  const s = await startTestServer(t, { smtp: [{ host: '::1', port: 0 }] });
  const c = await RawClient.open(s.port(), '::1');
  t.regex(await c.reply(), /^220 mx\.example\.test ESMTP/);
  c.send('EHLO v6\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@far.away>\r\n');
  const r = await c.replies(3);
  t.regex(r[2]!, /^250 2\.1\.5/);
  c.close();
});

test('update(): new rules reach new connections, existing sessions keep theirs; a bad deny or relay client entry is refused, naming it', async (t) => {
  const s = await startTestServer(t);
  const before = await session(s.port());
  await s.handle.update({ hostname: 'mx.example.test', rcpthosts: ['other.test'], badmailfrom: ['@spam.test'], relayClients: [] });
  const after = await session(s.port());
  t.regex(await say(after, 'MAIL FROM:<x@spam.test>'), /^553 5\.7\.1 /);
  t.regex(await say(after, 'MAIL FROM:<x@ok.test>'), /^250/);
  t.regex(await say(after, 'RCPT TO:<bob@example.test>'), /^553 5\.7\.1 /);
  t.regex(await say(after, 'RCPT TO:<bob@other.test>'), /^250/);
  t.regex(await say(before, 'MAIL FROM:<x@spam.test>'), /^250/);
  t.regex(await say(before, 'RCPT TO:<bob@example.test>'), /^250/);
  await t.throwsAsync(s.handle.update({ hostname: 'x', rcpthosts: [], deny: ['not-an-ip'] }), { message: /not an IP address or network: "not-an-ip"/ });
  await t.throwsAsync(s.handle.update({ hostname: 'x', rcpthosts: [], relayClients: ['10.0.0.0/33'] }), { message: /not an IP address or network: "10\.0\.0\.0\/33"/ });
  t.regex(await say(await session(s.port()), 'MAIL FROM:<x@spam.test>'), /^553 5\.7\.1 /, 'a refused update leaves the rules in force');
  before.close();
  after.close();
});

test('update(): listeners follow the settings; a kind left out stays; a busy address is reported', async (t) => {
  const s = await startTestServer(t);
  const [old, next] = [s.port(), await freePort()];
  const before = await session(old);
  const base = { hostname: 'mx.example.test', rcpthosts: ['example.test'] };
  await s.handle.update({ ...base, smtp: [{ host: '127.0.0.1', port: next }] });
  t.is(s.port(), next);
  t.regex(await say(await session(next), 'MAIL FROM:<a@ok.test>'), /^250/);
  await t.throwsAsync(RawClient.open(old), { code: 'ECONNREFUSED' });
  t.regex(await say(before, 'MAIL FROM:<a@ok.test>'), /^250/, 'a session on the dropped listener goes on');
  t.is(s.handle.addresses.filter((a) => a.kind === 'submission').length, 1, 'submission was left out: it stays');
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => busy.close());
  const taken = (busy.address() as AddressInfo).port;
  await t.throwsAsync(s.handle.update({ ...base, smtp: [{ host: '127.0.0.1', port: next }, { host: '127.0.0.1', port: taken }] }),
    { message: new RegExp(`cannot listen on smtp 127\\.0\\.0\\.1:${taken} .*EADDRINUSE`) });
  t.deepEqual(s.handle.addresses.filter((a) => a.kind === 'smtp').map((a) => a.port), [next], 'the rest is applied');
  before.close();
});

test('peer-chosen values in the Received header are made safe', async (t) => {
  const s = await startTestServer(t);
  const c = await session(s.port());
  c.send('EHLO x)(by-evil;Received:\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
  await c.replies(4);
  c.send('Subject: s\r\n\r\nb\r\n.\r\n');
  t.regex(await c.reply(), /^250 /);
  t.regex(s.messages()[0]!.body, /^Received: from unknown \(HELO x\?\?by-evil\?Received:\) \(127\.0\.0\.1\)\n  by /);
  c.close();
});

