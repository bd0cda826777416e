// ts/smtpd/etrn.ts on its own, with scripted passive queues and flushes: one flush at a
// time per domain (a request during a flush gets 253 and makes it run once more), the
// target (the client's address, IPv4-mapped unwrapped, or the route's host), 458 on a
// temporary failure, and a flush that fails or throws is logged, never thrown.

import test from 'ava';
import { perm, temp, ok, type Outcome } from '../../ts/outcome.js';
import { createEtrn, type EtrnDeps, type EtrnFlushReport, type EtrnTarget } from '../../ts/smtpd/etrn.js';

const routes = [{ domain: 'dialup.example', port: 2525 }, { domain: 'fixed.example', host: '192.0.2.7', port: 25 }];
const relay = { relayClient: true, user: undefined };
const report: EtrnFlushReport = { sent: 1, temp: 0, perm: 0, untried: 0 };

interface Script {
  readonly flushes: { domain: string; target: EtrnTarget }[];
  readonly logged: string[];
  release(): void;
}

/** Deps whose flushes wait for release() (when `hold`), and a log that records messages. */
function scripted(waiting: Record<string, Outcome<{ waiting: number }>>, hold = false, flush?: EtrnDeps['flush']) {
  const flushes: { domain: string; target: EtrnTarget }[] = [];
  const logged: string[] = [];
  let releases: (() => void)[] = [];
  const deps: EtrnDeps = {
    passive: async (d) => waiting[d] ?? perm('5.1.2', `${d} has no virtualdomains entry`),
    flush: flush ?? (async (domain, target) => {
      flushes.push({ domain, target });
      if (hold) await new Promise<void>((r) => releases.push(r));
      return ok(report);
    }),
  };
  const log = { info: (_o: object, m?: string) => logged.push(m ?? ''), warn: (_o: object, m?: string) => logged.push(m ?? ''), error: (_o: object, m?: string) => logged.push(m ?? '') };
  const script: Script = { flushes, logged, release: () => (releases.splice(0).forEach((r) => r())) };
  return { etrn: createEtrn(deps, log), script };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

test('one flush at a time per domain: a request during it gets 253 and the flush runs once more', async (t) => {
  const { etrn, script } = scripted({ 'dialup.example': ok({ waiting: 3 }) }, true);
  const ask = () => etrn.decide({ domain: 'dialup.example', ip: '::ffff:127.0.0.1', ...relay }, routes);
  t.deepEqual(await ask(), { code: 250, status: '2.0.0', text: 'OK, queuing for node dialup.example started' });
  t.true(await until(() => script.flushes.length === 1));
  t.deepEqual(script.flushes[0], { domain: 'dialup.example', target: { host: '127.0.0.1', port: 2525 } }, 'the client\'s address, unwrapped');
  t.deepEqual(await ask(), { code: 253, status: '2.0.0', text: 'OK, 3 pending messages for node dialup.example started' });
  t.deepEqual(await ask(), { code: 253, status: '2.0.0', text: 'OK, 3 pending messages for node dialup.example started' });
  t.is(script.flushes.length, 1, 'no second flush while one runs');
  script.release();
  t.true(await until(() => script.flushes.length === 2), 'the flush runs once more for the requests made during it');
  script.release();
  await etrn.settle();
  t.is(script.flushes.length, 2, 'two requests during a flush make one more run, not two');
  t.deepEqual(await ask(), { code: 250, status: '2.0.0', text: 'OK, queuing for node dialup.example started' }, 'a new flush after the last ended');
  t.true(await until(() => script.flushes.length === 3));
  script.release();
  await etrn.settle();
});

test('the route\'s host is the target when it names one; refusals and failures', async (t) => {
  const { etrn, script } = scripted({
    'fixed.example': ok({ waiting: 1 }), 'dialup.example': temp('4.3.0', 'Unable to read control/virtualdomains: EACCES'),
  });
  const ask = (domain: string, over: object = {}) => etrn.decide({ domain, ip: '127.0.0.1', ...relay, ...over }, routes);
  t.is((await ask('fixed.example')).code, 250);
  await etrn.settle();
  t.deepEqual(script.flushes, [{ domain: 'fixed.example', target: { host: '192.0.2.7', port: 25 } }]);
  t.deepEqual(await ask('dialup.example'), { code: 458, status: '4.3.0', text: 'Unable to queue messages for node dialup.example' });
  t.deepEqual(await ask('fixed.example', { relayClient: false }), { code: 530, status: '5.7.0', text: 'authentication required for ETRN' });
  t.is((await ask('fixed.example', { relayClient: false, user: 'dial' })).code, 250, 'an authenticated client may');
  await etrn.settle();
  t.is((await ask('other.example')).code, 459);
  t.true(script.logged.includes('etrn: passive queue unreadable'));
});

test('an unknown client address is 458; nothing waiting is 251 and starts nothing', async (t) => {
  const { etrn, script } = scripted({ 'dialup.example': ok({ waiting: 0 }) });
  t.deepEqual(await etrn.decide({ domain: 'dialup.example', ip: '127.0.0.1', ...relay }, routes),
    { code: 251, status: '2.0.0', text: 'OK, no messages waiting for node dialup.example' });
  const other = scripted({ 'dialup.example': ok({ waiting: 2 }) });
  t.is((await other.etrn.decide({ domain: 'dialup.example', ip: 'unknown', ...relay }, routes)).code, 458);
  await etrn.settle();
  t.deepEqual(script.flushes, []);
  t.deepEqual(other.script.flushes, []);
});

test('a flush that fails or throws is logged and the domain can be started again', async (t) => {
  let calls = 0;
  const failing: EtrnDeps['flush'] = async () => {
    calls++;
    if (calls === 1) throw new Error('boom');
    return temp('4.3.0', 'maildir is already being flushed');
  };
  const { etrn, script } = scripted({ 'dialup.example': ok({ waiting: 1 }) }, false, failing);
  const ask = () => etrn.decide({ domain: 'dialup.example', ip: '127.0.0.1', ...relay }, routes);
  t.is((await ask()).code, 250);
  await etrn.settle();
  t.is((await ask()).code, 250);
  await etrn.settle();
  t.is(calls, 2);
  t.true(script.logged.includes('etrn: flush threw'));
  t.true(script.logged.includes('etrn: flush failed'));
});
