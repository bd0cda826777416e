// Client-side SMTP reply parsing (bounds and bad input), EHLO keywords, envelope paths.

import test from 'ava';
import { pathOf } from '../../ts/remote/address.js';
import { parseEhlo } from '../../ts/remote/ehlo.js';
import { enhancedStatus, MAX_LINE, MAX_TEXT, ReplyParser, replyText } from '../../ts/remote/reply.js';
import { report } from '../../ts/remote/reports.js';

test('multi-line replies split anywhere, CR dropped, NUL shown as ?', (t) => {
  const p = new ReplyParser();
  const bytes = Buffer.from('250-first\r\n250-se\0cond\r\n250 last\r\n220 next\r\n');
  const got = [];
  for (let i = 0; i < bytes.length; i += 3) got.push(...p.feed(bytes.subarray(i, i + 3)).replies);
  t.deepEqual(got, [{ code: 250, lines: ['250-first', '250-se?cond', '250 last'] }, { code: 220, lines: ['220 next'] }]);
  t.is(replyText(got[0]!), '250-first / 250-se?cond / 250 last');
  t.deepEqual(p.feed(Buffer.from('354\n')).replies, [{ code: 354, lines: ['354'] }]);
});

test('bad input is an error, never unbounded memory', (t) => {
  t.is(new ReplyParser().feed(Buffer.from('hello\r\n')).error, 'malformed reply');
  t.is(new ReplyParser().feed(Buffer.alloc(MAX_LINE + 10, 65)).error, 'reply line too long');
  const p = new ReplyParser();
  t.is(p.feed(Buffer.from('250-x\r\n'.repeat(201))).error, 'reply too long');
  const long = new ReplyParser().feed(Buffer.from(`${'250-'.concat('y'.repeat(4000), '\r\n').repeat(3)}250 end\r\n`));
  t.true(long.replies[0]!.lines.join('').length <= MAX_TEXT, 'kept text is capped like qmail');
});

test('enhanced status is used only when its class matches the code', (t) => {
  t.is(enhancedStatus({ code: 550, lines: ['550 5.1.1 no such user'] }), '5.1.1');
  t.is(enhancedStatus({ code: 450, lines: ['450 5.1.1 odd'] }), undefined);
  t.is(enhancedStatus({ code: 550, lines: ['550 no such user'] }), undefined);
  const f = report.rcptRejected('192.0.2.1', { code: 550, lines: ['550 5.1.1 no such user'] });
  t.deepEqual(f, { kind: 'perm', status: '5.1.1', text: '192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 no such user' });
  const g = report.greetingFailed('192.0.2.1', { code: 554, lines: ['554 5.7.1 go away'] });
  t.is(g.kind, 'temp', 'a 5xx greeting is temporary, as in qmail');
  t.is(g.status, '4.4.2');
});

test('EHLO keywords', (t) => {
  const ext = parseEhlo({ code: 250, lines: ['250-mx hello', '250-PIPELINING', '250-size 1000', '250-8bitmime', '250-STARTTLS', '250 AUTH login Plain'] });
  t.deepEqual(ext, { pipelining: true, sizeLimit: 1000, size: true, eightBitMime: true, startTls: true, auth: ['LOGIN', 'PLAIN'] });
  t.is(parseEhlo({ code: 250, lines: ['250-x', '250 SIZE'] }).sizeLimit, undefined);
  t.is(parseEhlo({ code: 250, lines: ['250-x', '250 SIZE 0'] }).sizeLimit, undefined);
});

test('envelope paths: quoting, bounce sender, injection refused', (t) => {
  t.is(pathOf('user@example.com'), '<user@example.com>');
  t.is(pathOf(''), '<>');
  t.is(pathOf('#@[]'), '<>');
  t.is(pathOf('a b"c@example.com'), '<"a b\\"c"@example.com>');
  t.is(pathOf('a..b@example.com'), '<"a..b"@example.com>');
  t.is(pathOf('x@example.com>\r\nRCPT TO:<y@z>'), undefined);
  t.is(pathOf(`${'a'.repeat(300)}@example.com`), undefined);
});

test('credentials never go out over an unencrypted connection to a non-loopback host', async (t) => {
  const { authenticate } = await import('../../ts/remote/auth.js');
  const writes: string[] = [];
  const conn = { secure: false, write: async (s: string) => { writes.push(s); }, read: async () => ({ code: 235, lines: ['235 ok'] }) };
  const ext = { pipelining: false, sizeLimit: undefined, size: false, eightBitMime: false, startTls: false, auth: ['PLAIN'] };
  const creds = { relay: 'smart.test', user: 'me', password: 'secret' };
  type Conn = Parameters<typeof authenticate>[0];
  const f = await authenticate(conn as unknown as Conn, '192.0.2.1', ext, creds, false);
  t.like(f, { kind: 'temp', status: '4.7.0' });
  t.deepEqual(writes, []);
  t.is(await authenticate(conn as unknown as Conn, '127.0.0.1', ext, creds, true), undefined, 'loopback may go in clear');
  t.deepEqual(writes, [`AUTH PLAIN ${Buffer.from('\0me\0secret').toString('base64')}\r\n`]);
});
