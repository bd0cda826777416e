// bench/smtp-steps.ts on a tiny load: both servers measured at each connection count, every
// step a positive latency no longer than the median cycle (a session holds all of its
// steps); a server that refuses a step makes the session throw with that step and the reply.

import test from 'ava';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { runSmtpSteps, session } from '../../bench/smtp-steps.js';

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

test('a step answered with another code fails the session, naming the step and the reply', async (t) => {
  const server = createServer((sock) => {
    sock.write('220 hi\r\n');
    sock.on('data', () => sock.write('421 4.3.2 going away\r\n'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const e = await t.throwsAsync(session(port, 'a@b.test', Buffer.from('x\r\n.\r\n')));
  t.is(e?.message, 'HELO: 421 4.3.2 going away');
});
