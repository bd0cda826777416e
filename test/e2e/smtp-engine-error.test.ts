// A throw from the native SMTP session (a bug in the core: a Rust panic arrives as a JS
// error) must end that one connection with 421 4.3.0, never the process; other and later
// sessions keep working. The fault is planted by replacing the session's feed for one
// input; this file runs in its own worker, so nothing else sees the patch.

import test from 'ava';
import { SmtpSessionNative } from '../../ts/native.js';
import { RawClient, startTestServer } from './smtp-harness.js';

test('an engine error closes that session with 421 4.3.0; the server keeps serving', async (t) => {
  const errors: string[] = [];
  const log = { info: () => {}, warn: () => {}, error: (_o: object, msg?: string) => { errors.push(msg ?? ''); } };
  const server = await startTestServer(t, {}, { log } as never);
  const feed = SmtpSessionNative.prototype.feed;
  t.teardown(() => { SmtpSessionNative.prototype.feed = feed; });
  SmtpSessionNative.prototype.feed = function (chunk: Buffer) {
    if (chunk.toString().startsWith('BOOM')) throw new Error('simulated core panic');
    return feed.call(this, chunk);
  };

  const bad = await RawClient.open(server.port());
  t.regex((await bad.replies(1))[0]!, /^220 /);
  bad.send('BOOM\r\n');
  t.regex((await bad.replies(1))[0]!, /^421 4\.3\.0 /);
  t.true(errors.includes('smtp engine error'));

  const good = await RawClient.open(server.port());
  t.regex((await good.replies(1))[0]!, /^220 /);
  good.send('EHLO x\r\n');
  t.regex((await good.replies(1))[0]!, /^250/);
});
