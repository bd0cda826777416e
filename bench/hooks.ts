// What the hook runner itself costs per message (issue 18): one SMTP transaction's
// decisions (connect, helo, mail, one rcpt, data) through ts/hooks' runner with no
// handlers, and with a no-op handler (answers nothing) at every point; the data handler
// does not read the message, so no stream is opened. This is the TypeScript side only:
// the crossing from the SMTP session to the runner is the session's own cost.
//
// Usage: node dist/bench/hooks.js [--runs 3] [--messages 100000]
// Prints CPU µs per message (process user + system), median (min–max) over the runs,
// one message at a time on the event loop.

import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createHookRunner, type HookRunner } from '../ts/hooks/index.js';
import type { HookSession, SmtpHooks } from '../ts/hooks/types.js';
import { silentLog } from '../ts/log/index.js';

const { values: o } = parseArgs({ options: { runs: { type: 'string', default: '3' }, messages: { type: 'string', default: '100000' } } });
const RUNS = Number(o.runs);
const N = Number(o.messages);

const session: HookSession = {
  id: 'b1', remoteAddress: '192.0.2.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 25,
  listener: 'smtp', secure: false, relayClient: false, envelope: { rcptTo: [] },
};
const noop = (): undefined => undefined;
const message = { size: 4096, open: () => Readable.from([]) };

async function transaction(r: HookRunner): Promise<void> {
  await r.connect(session);
  await r.helo(session, { name: 'client.example', ehlo: true });
  await r.mail(session, { address: 'a@example.org', params: {} });
  await r.rcpt(session, { address: 'b@example.com', params: {} });
  await r.data(session, message);
}

async function cpuPerMessage(hooks: SmtpHooks): Promise<number> {
  const r = createHookRunner({ hooks, log: silentLog });
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await transaction(r);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)} (${s[0]!.toFixed(2)}–${s.at(-1)!.toFixed(2)})`;
};

const cases: [string, SmtpHooks][] = [
  ['no handlers', {}],
  ['a no-op handler at each point', { connect: noop, helo: noop, mail: noop, rcpt: noop, data: noop }],
];
console.log(`| hooks | CPU µs per message, median (min–max) of ${RUNS} runs of ${N} |`);
console.log('|---|---|');
for (const [name, hooks] of cases) {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await cpuPerMessage(hooks));
  console.log(`| ${name} | ${fmt(runs)} |`);
}
