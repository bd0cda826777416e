// A panic inside a core SMTP session (a bug in the core) must end that one connection with
// 421 4.3.0 and an 'smtp engine error' log line, never the process; other and later
// sessions keep working. The fault is injected through the rules' test-only panicOn
// (QMTA_TEST_SMTP_PANIC_ON, read when the server starts; this file runs in its own worker,
// whose process.env is its own).

import test from 'ava';
import { RawClient, startTestServer } from './smtp-harness.js';

test('an engine error closes that session with 421 4.3.0; the server keeps serving', async (t) => {
  const errors: string[] = [];
  const log = { info: () => {}, warn: () => {}, error: (_o: object, msg?: string) => { errors.push(msg ?? ''); } };
  process.env.QMTA_TEST_SMTP_PANIC_ON = 'BOOM';
  const server = await startTestServer(t, {}, { log } as never);
  delete process.env.QMTA_TEST_SMTP_PANIC_ON;

  const bad = await RawClient.open(server.port());
  t.regex((await bad.replies(1))[0]!, /^220 /);
  bad.send('BOOM\r\n');
  t.regex((await bad.replies(1))[0]!, /^421 4\.3\.0 /);
  t.true(await bad.waitClose());
  const deadline = Date.now() + 10_000;
  while (!errors.includes('smtp engine error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(errors.includes('smtp engine error'));

  const good = await RawClient.open(server.port());
  t.regex((await good.replies(1))[0]!, /^220 /);
  good.send('EHLO x\r\n');
  t.regex((await good.replies(1))[0]!, /^250/);
});
