// The hook runner (ts/hooks/runner.ts): order and composition, qmta's default when no
// handler decides, failures (throw, rejection, time-out, malformed answer) as 451 4.3.0
// with a log record and never a crash, the message stream at DATA, the store at RCPT.

import test from 'ava';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { createHookRunner, type HookRunnerOptions } from '../../ts/hooks/runner.js';
import type { DataInput, HookSession, SmtpHooks } from '../../ts/hooks/types.js';
import { ok, temp } from '../../ts/outcome.js';

const session: HookSession = {
  id: 's1', remoteAddress: '192.0.2.7', remotePort: 40000, localAddress: '127.0.0.1', localPort: 25,
  listener: 'smtp', secure: false, relayClient: false, helo: 'client.example', envelope: { mailFrom: 'a@far.example', rcptTo: [] },
};
const rcpt = { address: 'joe@app.example', params: {} };

function runner(hooks: SmtpHooks, extra: Partial<HookRunnerOptions> = {}) {
  const warnings: { o: Record<string, unknown>; msg: string }[] = [];
  const log = { info() {}, error() {}, warn(o: object, msg?: string) { warnings.push({ o: o as Record<string, unknown>, msg: msg ?? '' }); } };
  return { run: createHookRunner({ hooks, log, ...extra }), warnings };
}

test('no handler: the default; has() tells which points have handlers', async (t) => {
  const { run } = runner({ rcpt: () => undefined });
  t.false(run.has('connect'));
  t.true(run.has('rcpt'));
  t.deepEqual(await run.connect(session), { kind: 'default' });
  t.deepEqual(await run.mail(session, { address: 'a@b', params: {} }), { kind: 'default' });
  t.deepEqual(await run.rcpt(session, rcpt), { kind: 'default', store: false });
});

test('handlers run in order; the first that decides wins and the rest are not called', async (t) => {
  const called: string[] = [];
  const { run } = runner({
    mail: [
      () => { called.push('a'); },
      async (from) => { called.push('b'); return from.address.endsWith('@spam.example') ? { action: 'refuse', code: 553, text: 'no spam' } : undefined; },
      () => { called.push('c'); return { action: 'accept' }; },
      () => { called.push('d'); return { action: 'refuse' }; },
    ],
  });
  t.deepEqual(await run.mail(session, { address: 'x@spam.example', params: {} }), { kind: 'reply', reply: { code: 553, status: '5.7.1', text: 'no spam' }, close: false });
  t.deepEqual(called, ['a', 'b']);
  called.length = 0;
  t.deepEqual(await run.mail(session, { address: 'x@good.example', params: { SIZE: '100' } }), { kind: 'accept' });
  t.deepEqual(called, ['a', 'b', 'c']);
});

test('every point gets its input and the session; a refusal at connect closes the session', async (t) => {
  const seen: unknown[] = [];
  const { run } = runner({
    connect: (s) => { seen.push(['connect', s.remoteAddress]); return { action: 'refuse' }; },
    helo: (h, s) => { seen.push(['helo', h, s.id]); return { action: 'defer', text: 'slow down' }; },
    auth: (a) => { seen.push(['auth', a]); return a.password === 'right' ? { action: 'accept' } : { action: 'refuse' }; },
    rcpt: (to, s) => { seen.push(['rcpt', to.address, s.envelope.mailFrom]); },
  });
  t.deepEqual(await run.connect(session), { kind: 'reply', reply: { code: 554, status: '5.7.1', text: 'connection refused' }, close: true });
  t.deepEqual(await run.helo(session, { name: 'x', ehlo: true }), { kind: 'reply', reply: { code: 451, status: '4.7.1', text: 'slow down' }, close: false });
  t.deepEqual(await run.auth(session, { method: 'PLAIN', username: 'joe', password: 'right' }), { kind: 'accept', user: 'joe' });
  t.deepEqual(await run.auth(session, { method: 'LOGIN', username: 'joe', password: 'wrong' }), { kind: 'reply', reply: { code: 535, status: '5.7.8', text: 'authentication failed' }, close: false });
  t.deepEqual(await run.rcpt(session, rcpt), { kind: 'default', store: false });
  t.deepEqual(seen, [
    ['connect', '192.0.2.7'], ['helo', { name: 'x', ehlo: true }, 's1'],
    ['auth', { method: 'PLAIN', username: 'joe', password: 'right' }], ['auth', { method: 'LOGIN', username: 'joe', password: 'wrong' }],
    ['rcpt', 'joe@app.example', 'a@far.example'],
  ]);
});

test('an AUTH handler may name the user the session is authenticated as', async (t) => {
  const { run } = runner({ auth: () => ({ action: 'accept', user: 'user-17' }) });
  t.deepEqual(await run.auth(session, { method: 'PLAIN', username: 'joe@app.example', password: 'pw' }), { kind: 'accept', user: 'user-17' });
});

test('a handler that throws, rejects, times out or answers badly gives 451 4.3.0 (421 at connect), is logged, and stops the chain', async (t) => {
  let after = 0;
  const later = () => { after++; return { action: 'accept' as const }; };
  const cases: [string, SmtpHooks['rcpt'], RegExp][] = [
    ['throw', [() => { throw new Error('db\r\ndown'); }, later], /threw: Error: db down/],
    ['reject', [async () => Promise.reject(new TypeError('nope')), later], /threw: TypeError: nope/],
    ['time-out', [() => new Promise(() => {}), later], /no answer within 100 ms/],
    ['malformed', [() => ({ action: 'refuse', code: 250 }) as never, later], /malformed answer: code 250 for refuse/],
    ['getter', [() => ({ get action(): string { throw new Error('boom'); } }) as never, later], /reading it threw: Error: boom/],
  ];
  for (const [name, rcptHooks, reason] of cases) {
    const { run, warnings } = runner({ rcpt: rcptHooks!, timeoutMs: 100 });
    t.deepEqual(await run.rcpt(session, rcpt), { kind: 'reply', reply: { code: 451, status: '4.3.0', text: 'local error, try again later' }, close: false, store: false }, name);
    t.is(warnings.length, 1, name);
    t.like(warnings[0]!.o, { event: 'hook', point: 'rcpt', handler: 0, session: 's1' }, name);
    t.regex(String(warnings[0]!.o.reason), reason, name);
    t.regex(warnings[0]!.msg, /^hook rcpt\[0\] failed: .*; answered 451 4\.3\.0$/, name);
  }
  t.is(after, 0);
  const { run } = runner({ connect: () => { throw new Error('x'); } });
  t.deepEqual(await run.connect(session), { kind: 'reply', reply: { code: 421, status: '4.3.0', text: 'local error, try again later' }, close: true });
});

test("a handler past its time aborts its signal; it sees a frozen session", async (t) => {
  let signal: AbortSignal | undefined;
  let frozen = false;
  const { run } = runner({ timeoutMs: 50, helo: (_h, s, ctx) => { signal = ctx.signal; frozen = Object.isFrozen(s) && Object.isFrozen(s.envelope.rcptTo); return new Promise(() => {}); } });
  const started = Date.now();
  t.like(await run.helo(session, { name: 'x', ehlo: false }), { kind: 'reply', reply: { code: 451, status: '4.3.0' } });
  t.true(Date.now() - started >= 45);
  t.true(signal!.aborted);
  t.true(frozen);
});

test('DATA: each handler reads the message from its own stream, opened only when read and closed after the call', async (t) => {
  const streams: Readable[] = [];
  const message = { size: 18, open: () => { const s = Readable.from([Buffer.from('Subject: x\n\nbody\n')]); streams.push(s); return s; } };
  const read: string[] = [];
  let kept: DataInput | undefined;
  const { run } = runner({ data: [
    async (m) => { read.push(`${m.size}:${await text(m.stream)}`); },
    () => undefined, // does not read: nothing is opened for it
    async (m) => { kept = m; read.push(await text(m.stream)); return { action: 'refuse', code: 550, text: 'spam' }; },
  ] });
  t.deepEqual(await run.data(session, message), { kind: 'reply', reply: { code: 550, status: '5.7.1', text: 'spam' }, close: false });
  t.deepEqual(read, ['18:Subject: x\n\nbody\n', 'Subject: x\n\nbody\n']);
  t.is(streams.length, 2);
  t.true(streams.every((s) => s.destroyed));
  t.is(kept!.stream, streams[1]!);
});

test('DATA: a handler that stalls on the stream is cut at its time limit and its stream destroyed', async (t) => {
  const stream = new Readable({ read() {} });
  const { run } = runner({ timeoutMs: 50, data: async (m) => { await text(m.stream); } });
  t.like(await run.data(session, { size: 1, open: () => stream }), { kind: 'reply', reply: { code: 451, status: '4.3.0' } });
  t.true(stream.destroyed);
});

test('RCPT and the store: a claimed recipient is known when no handler decided; the store flag routes it through the queue', async (t) => {
  const claims = (a: string) => ok(a.endsWith('@app.example'));
  const none = runner({}, { claimedByStore: claims }).run;
  t.deepEqual(await none.rcpt(session, rcpt), { kind: 'accept', store: true });
  t.deepEqual(await none.rcpt(session, { address: 'joe@other.example', params: {} }), { kind: 'default', store: false });
  const accepting = runner({ rcpt: () => ({ action: 'accept' }) }, { claimedByStore: claims }).run;
  t.deepEqual(await accepting.rcpt(session, rcpt), { kind: 'accept', store: true });
  t.deepEqual(await accepting.rcpt(session, { address: 'joe@other.example', params: {} }), { kind: 'accept', store: false });
  let asked = 0;
  const refusing = runner({ rcpt: () => ({ action: 'refuse' }) }, { claimedByStore: (a) => { asked++; return claims(a); } }).run;
  t.like(await refusing.rcpt(session, rcpt), { kind: 'reply', store: false });
  t.is(asked, 0);
  const { run: broken, warnings } = runner({}, { claimedByStore: () => temp('4.3.0', 'store.recipients failed: db down') });
  t.deepEqual(await broken.rcpt(session, rcpt), { kind: 'reply', reply: { code: 451, status: '4.3.0', text: 'local error, try again later' }, close: false, store: false });
  t.regex(warnings[0]!.msg, /^hook rcpt failed: store\.recipients: store\.recipients failed: db down; answered 451 4\.3\.0$/);
});
