// bench/smtp-steps.ts on a tiny load: both servers measured at each connection count, every
// step a positive latency no longer than the median cycle (a session holds all of its
// steps); a server that refuses a step, floods a reply or falls silent makes the session
// throw with that step and what went wrong.

import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { MAX_UNREAD, runSmtpSteps, session } from '../../bench/smtp-steps.js';

test('the steps bench measures every step of qmta and the sink at each connection count', async (t) => {
  const r = await runSmtpSteps({ messages: 20, size: 4096, connections: [1, 2], runs: 1 });
  t.deepEqual(r.rows.map((row) => [row.connections, row.server]), [[1, 'qmta'], [1, 'sink'], [2, 'qmta'], [2, 'sink']]);
  for (const row of r.rows) {
    const { cycle, ...steps } = row.medians;
    for (const [step, us] of Object.entries(steps)) {
      t.true(us > 0 && us <= cycle, `${row.server} ${step}: ${us} µs of a ${cycle} µs cycle`);
    }
    t.true(row.rate > 0);
  }
  t.regex(r.text, /^2 +sink +(\d+ +){8}\d+$/m);
});

/** A server on loopback that treats each connection with `serve`; its port. */
async function fakeServer(t: ExecutionContext, serve: (sock: Socket) => void): Promise<number> {
  const server = createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return (server.address() as { port: number }).port;
}

const MESSAGE = Buffer.from('x\r\n.\r\n');

test('a step answered with another code fails the session, naming the step and the reply', async (t) => {
  const port = await fakeServer(t, (sock) => {
    sock.write('220 hi\r\n');
    sock.on('data', () => sock.write('421 4.3.2 going away\r\n'));
  });
  const e = await t.throwsAsync(session(port, 'a@b.test', MESSAGE));
  t.is(e?.message, 'HELO: 421 4.3.2 going away');
});

test('a reply longer than the client reads, or a silent server, fails the session', async (t) => {
  const flood = await fakeServer(t, (sock) => sock.write(`220 ${'x'.repeat(MAX_UNREAD)}`));
  const e = await t.throwsAsync(session(flood, 'a@b.test', MESSAGE));
  t.is(e?.message, `connect: more than ${MAX_UNREAD} bytes of reply`);
  const silent = await fakeServer(t, (sock) => {
    sock.write('220 hi\r\n');
    sock.on('error', () => {});
  });
  const started = Date.now();
  const quiet = await t.throwsAsync(session(silent, 'a@b.test', MESSAGE, { timeoutMs: 200 }));
  t.is(quiet?.message, 'HELO: no reply within 200 ms');
  t.true(Date.now() - started < 5_000);
});
