// Hooks that fail, end to end (createMta({ listen: true, hooks }), Python's smtplib): a
// handler that throws (synchronously or by rejecting), one that never answers within
// hooks.timeoutMs (its signal is aborted, its message stream closed) and one that answers
// something malformed (a code out of range, a 2xx for a refusal, a 5xx for a deferral, CR LF
// in the text, a string, an answer whose reading throws) each give 451 4.3.0, at connect
// 421 4.3.0 and the close; never a 5xx. Each is one warning record {event: 'hook', point,
// handler, reason}, and the same server goes on accepting good mail afterwards.

import test from 'ava';
import { text } from 'node:stream/consumers';
import type { DataInput, HookResult } from '../../ts/index.js';
import { until } from '../helpers/wait.js';
import { message, smtplib, startHooked, type Step } from './hooks-harness.js';

const FAILED = [451, '4.3.0 local error, try again later'] as const;
const TIMEOUT_MS = 1000;

const never = (): Promise<never> => new Promise(() => {});

/** One bad answer per trigger (the address's or name's local part). */
const BAD: Record<string, () => unknown> = {
  throw: () => { throw new Error('bug in the application'); },
  reject: () => Promise.reject(new Error('database gone')),
  slow: never,
  code: () => ({ action: 'refuse', code: 600 }),
  twoxx: () => ({ action: 'refuse', code: 250, status: '2.0.0', text: 'fine' }),
  defer5: () => ({ action: 'defer', code: 550 }),
  crlf: () => ({ action: 'refuse', text: 'no\r\n250 2.0.0 ok' }),
  string: () => 'accept',
  getter: () => ({ get action(): string { throw new Error('trap'); } }),
};

const trigger = (s: string): (() => unknown) | undefined => BAD[s.split(/[@.]/)[0]!];
/** The bad answer `s` asks for, or nothing; typed as a good one (the point is that it is not). */
const answer = (s: string): HookResult => trigger(s)?.() as HookResult;

test('failing connect hooks give 421 4.3.0 and close; the next client is served', async (t) => {
  let mode: string | undefined;
  const h = await startHooked(t, { connect: () => (mode ? BAD[mode]!() as HookResult : undefined), timeoutMs: TIMEOUT_MS });
  for (mode of ['throw', 'slow', 'twoxx']) t.deepEqual(await smtplib(h.port, []), [[421, '4.3.0 local error, try again later'], ['closed']], mode);
  mode = undefined;
  t.is((await smtplib(h.port, [['ehlo', 'c']]))[1]![0], 250);
  const logged = h.warnings.filter((w) => w.event === 'hook');
  t.deepEqual(logged.map((w) => [w.point, w.handler]), [['connect', 0], ['connect', 0], ['connect', 0]]);
  t.deepEqual(logged.map((w) => String(w.reason)), [
    'threw: Error: bug in the application', `no answer within ${TIMEOUT_MS} ms`, 'malformed answer: code 250 for refuse',
  ]);
});

test('failing helo, auth, mail, rcpt and data hooks give 451 4.3.0, never a 5xx; the session and the server go on', async (t) => {
  const signals: AbortSignal[] = [];
  const streams: DataInput['stream'][] = [];
  const h = await startHooked(t, {
    timeoutMs: TIMEOUT_MS,
    helo: ({ name }) => answer(name),
    auth: ({ username }) => (trigger(username) ? answer(username) : { action: 'accept' }),
    mail: ({ address }) => answer(address),
    rcpt: ({ address }, _s, ctx) => { signals.push(ctx.signal); return answer(address); },
    data: async (input) => {
      streams.push(input.stream);
      const subject = /\nSubject: (\w+)/.exec(await text(input.stream))?.[1] ?? '';
      return answer(subject);
    },
  });
  const F = FAILED[0];
  const transaction = (subject: string, code: number): [Step, number][] =>
    [[['mail', 'alice@far.test'], 250], [['rcpt', 'joe@app.test'], 250], [['data', message(subject, 'x')], code]];
  const script: [Step, number][] = [
    [['ehlo', 'throw.test'], F], [['ehlo', 'slow.test'], F], [['ehlo', 'client.test'], 250],
    [['auth', 'PLAIN', 'code', 'x'], F], [['auth', 'PLAIN', 'slow', 'x'], F],
    [['mail', 'reject@far.test'], F], [['mail', 'slow@far.test'], F], [['mail', 'defer5@far.test'], F],
    ...transaction('throw', F).slice(0, 1),
    ...['throw', 'slow', 'code', 'twoxx', 'crlf', 'string', 'getter'].map((k): [Step, number] => [['rcpt', `${k}@app.test`], F]),
    ...transaction('throw', F).slice(1), ...transaction('slow', F), ...transaction('crlf', F), ...transaction('good', 250),
  ];
  const replies = await smtplib(h.port, script.map(([step]) => step));
  t.deepEqual(replies.slice(1).map((r) => r[0]), script.map(([, code]) => code), JSON.stringify(replies));
  for (const r of replies) if (r[0] === F) t.deepEqual(r, FAILED);
  await until('the good message', () => h.stored.length === 1);
  t.regex(h.stored[0]!.bytes, /\nSubject: good\n/);
  t.true(signals[1]!.aborted, 'the timed-out rcpt call\'s signal is aborted');
  t.false(signals[0]!.aborted);
  await until('the data streams closed', () => streams.every((s) => s.destroyed));
  const logged = h.warnings.filter((w) => w.event === 'hook');
  t.deepEqual(logged.map((w) => w.point), ['helo', 'helo', 'auth', 'auth', 'mail', 'mail', 'mail', ...Array(7).fill('rcpt'), 'data', 'data', 'data']);
  t.deepEqual(logged.filter((w) => w.point === 'rcpt').map((w) => String(w.reason)), [
    'threw: Error: bug in the application', `no answer within ${TIMEOUT_MS} ms`, 'malformed answer: code 600 for refuse',
    'malformed answer: code 250 for refuse', 'malformed answer: a text that is not one line of 1-400 printable ASCII characters',
    'malformed answer: a string instead of an object or nothing', 'malformed answer: reading it threw: Error: trap',
  ]);
  t.is(String(logged[6]!.reason), 'malformed answer: code 550 for defer');
  t.true(logged.every((w) => typeof w.session === 'string' && w.handler === 0));
});
