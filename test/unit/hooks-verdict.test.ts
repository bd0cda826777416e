// Hook answers (ts/hooks/verdict.ts): each point's defaults, the rules a refusal or a
// deferral must keep, and everything malformed; the option's shape.

import test from 'ava';
import fc from 'fast-check';
import { checkHooks, checkVerdict, failureReply, HOOK_POINTS } from '../../ts/hooks/verdict.js';
import type { HookPoint, SmtpHooks } from '../../ts/hooks/types.js';

test('nothing is no opinion; accept is accept; AUTH may name the user', (t) => {
  for (const p of HOOK_POINTS) {
    t.deepEqual(checkVerdict(p, undefined), { kind: 'none' });
    t.deepEqual(checkVerdict(p, null), { kind: 'none' });
    t.deepEqual(checkVerdict(p, { action: 'accept' }), { kind: 'accept' });
  }
  t.deepEqual(checkVerdict('auth', { action: 'accept', user: 'joe@example.com' }), { kind: 'accept', user: 'joe@example.com' });
  // user means something at AUTH only; elsewhere it is ignored.
  t.deepEqual(checkVerdict('rcpt', { action: 'accept', user: 'x y' }), { kind: 'accept' });
});

test('each point has its own default refusal and deferral', (t) => {
  const got = Object.fromEntries(HOOK_POINTS.map((p) => {
    const one = (action: string) => {
      const c = checkVerdict(p, { action });
      return c.kind === 'reply' ? `${c.reply.code} ${c.reply.status} ${c.reply.text}` : c.kind;
    };
    return [p, [one('refuse'), one('defer')]];
  }));
  t.deepEqual(got, {
    connect: ['554 5.7.1 connection refused', '421 4.7.0 try again later'],
    helo: ['550 5.7.1 HELO refused', '451 4.7.1 HELO deferred, try again later'],
    auth: ['535 5.7.8 authentication failed', '454 4.7.0 temporary authentication failure'],
    mail: ['550 5.7.1 sender refused', '451 4.7.1 sender deferred, try again later'],
    rcpt: ['550 5.1.1 no mailbox here by that name', '451 4.7.1 recipient deferred, try again later'],
    data: ['554 5.7.1 message refused', '451 4.7.1 message deferred, try again later'],
  });
});

test('a handler chooses the code, the status and the text', (t) => {
  t.deepEqual(checkVerdict('data', { action: 'refuse', code: 550, status: '5.7.1', text: 'spam score 12.5 > 5' }),
    { kind: 'reply', reply: { code: 550, status: '5.7.1', text: 'spam score 12.5 > 5' } });
  t.deepEqual(checkVerdict('rcpt', { action: 'defer', code: 450, status: '4.2.1', text: 'mailbox busy\ttry later' }),
    { kind: 'reply', reply: { code: 450, status: '4.2.1', text: 'mailbox busy\ttry later' } });
  t.deepEqual(checkVerdict('connect', { action: 'defer', code: 421 }), { kind: 'reply', reply: { code: 421, status: '4.7.0', text: 'try again later' } });
  // A code alone takes the point's default status of that class.
  t.deepEqual(checkVerdict('mail', { action: 'refuse', code: 553 }), { kind: 'reply', reply: { code: 553, status: '5.7.1', text: 'sender refused' } });
});

test('malformed answers: codes out of range, a 2xx or 4xx for a refusal, statuses of the wrong class, CR or LF in the text', (t) => {
  const bad: [HookPoint, unknown, RegExp][] = [
    ['rcpt', { action: 'refuse', code: 250 }, /code 250 for refuse/],
    ['rcpt', { action: 'refuse', code: 450 }, /code 450 for refuse/],
    ['rcpt', { action: 'defer', code: 550 }, /code 550 for defer/],
    ['mail', { action: 'refuse', code: 600 }, /code 600/],
    ['mail', { action: 'defer', code: 399 }, /code 399/],
    ['mail', { action: 'refuse', code: 550.5 }, /code 550.5/],
    ['mail', { action: 'refuse', code: '550' }, /code "550"/],
    ['rcpt', { action: 'defer', code: 421 }, /421 outside connect/],
    ['rcpt', { action: 'refuse', code: 550, status: '4.1.1' }, /status "4.1.1" for code 550/],
    ['rcpt', { action: 'defer', status: '5.1.1' }, /status "5.1.1" for code 451/],
    ['rcpt', { action: 'refuse', status: '2.0.0' }, /status "2.0.0"/],
    ['rcpt', { action: 'refuse', status: '5.1' }, /status "5.1"/],
    ['helo', { action: 'refuse', text: 'two\r\nlines' }, /one line/],
    ['helo', { action: 'refuse', text: 'bare\nLF' }, /one line/],
    ['helo', { action: 'refuse', text: 'bare\rCR' }, /one line/],
    ['helo', { action: 'refuse', text: 'nul\0' }, /one line/],
    ['helo', { action: 'refuse', text: '' }, /one line/],
    ['helo', { action: 'refuse', text: 'x'.repeat(401) }, /one line/],
    ['helo', { action: 'refuse', text: 'grüße' }, /printable ASCII/],
    ['helo', { action: 'refuse', text: 7 }, /one line/],
    ['auth', { action: 'accept', user: 'two words' }, /user "two words"/],
    ['auth', { action: 'accept', user: 'x\r\ny' }, /user/],
    ['auth', { action: 'accept', user: '' }, /user ""/],
    ['auth', { action: 'accept', user: 42 }, /user 42/],
    ['data', { action: 'ok' }, /action "ok"/],
    ['data', { code: 550 }, /action undefined/],
    ['data', 'accept', /a string/],
    ['data', true, /a boolean/],
    ['data', 250, /a number/],
  ];
  for (const [point, answer, why] of bad) {
    const c = checkVerdict(point, answer);
    t.is(c.kind, 'malformed', JSON.stringify(answer));
    if (c.kind === 'malformed') t.regex(c.why, why);
  }
});

test('whatever a handler answers, a reply keeps the rules (property)', (t) => {
  const point = fc.constantFrom(...HOOK_POINTS);
  const answer = fc.record({
    action: fc.constantFrom('accept', 'refuse', 'defer', 'other', undefined),
    code: fc.oneof(fc.integer({ min: -1, max: 700 }), fc.constant(undefined), fc.string()),
    status: fc.oneof(fc.string(), fc.constantFrom('4.2.1', '5.1.1', '2.0.0', '5.7.8'), fc.constant(undefined)),
    text: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant(undefined)),
  }, { requiredKeys: [] });
  fc.assert(fc.property(point, fc.oneof(answer, fc.anything()), (p, a) => {
    const c = checkVerdict(p, a);
    if (c.kind !== 'reply') return;
    const action = (a as { action: string }).action;
    const [low, digit] = action === 'refuse' ? [500, '5'] : [400, '4'];
    t.true(c.reply.code >= low && c.reply.code < low + 100 && Number.isInteger(c.reply.code));
    t.true(c.reply.code !== 421 || p === 'connect');
    t.regex(c.reply.status, new RegExp(`^${digit}\\.\\d{1,3}\\.\\d{1,3}$`));
    t.regex(c.reply.text, /^[\t\x20-\x7e]{1,400}$/);
  }), { numRuns: 2000 });
});

test('a failed handler is 451 4.3.0, at connect 421 4.3.0: never a 5xx', (t) => {
  for (const p of HOOK_POINTS) {
    const r = failureReply(p);
    t.is(r.status, '4.3.0');
    t.is(r.code, p === 'connect' ? 421 : 451);
  }
});

test('checkHooks names what is wrong with the option', (t) => {
  const ok: SmtpHooks = { rcpt: [() => undefined, async () => ({ action: 'accept' })], data: () => undefined, timeoutMs: 5000, connect: undefined };
  t.notThrows(() => checkHooks(ok));
  t.throws(() => checkHooks({ rcptTo: () => undefined } as never), { instanceOf: TypeError, message: /hooks\.rcptTo is not a hook point \(connect, helo, auth, mail, rcpt, data\)/ });
  t.throws(() => checkHooks({ rcpt: 'accept' } as never), { message: /hooks\.rcpt must be a function or an array of functions/ });
  t.throws(() => checkHooks({ auth: [() => undefined, 3] } as never), { message: /hooks\.auth must be/ });
  t.throws(() => checkHooks({ timeoutMs: 0 }), { message: /timeoutMs must be a positive integer/ });
  t.throws(() => checkHooks(null as never), { message: /hooks must be an object/ });
});
