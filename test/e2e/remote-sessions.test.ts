// Idle-session reuse: the next delivery to the same server goes over the open
// connection after RSET; a server that dropped the idle connection costs a fresh
// connect, not a failure; idle sessions are QUIT after sessionIdle.

import test from 'ava';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { until } from '../helpers/wait.js';
import { request, routedTo, scriptedPeer } from './remote-peers.js';

test('a second delivery reuses the idle session after RSET', async (t) => {
  const peer = await scriptedPeer(t, {});
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 60 }));
  t.teardown(() => remote.close());
  for (const to of ['a@d.test', 'b@e.test']) t.is((await remote.deliver(request(t, 'x\n', [to])))[0]!.outcome.kind, 'ok');
  t.is(peer.connections(), 1);
  const cmds = peer.sessions[0]!.commands;
  t.deepEqual(cmds.slice(4), ['RSET', 'MAIL FROM:<alice@sender.test>', 'RCPT TO:<b@e.test>', 'DATA']);
});

test('an idle session the server closed is replaced by a fresh connection', async (t) => {
  const peer = await scriptedPeer(t, {});
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 60 }));
  t.teardown(() => remote.close());
  t.is((await remote.deliver(request(t, 'x\n', ['a@d.test'])))[0]!.outcome.kind, 'ok');
  peer.dropAll();
  await new Promise((r) => setTimeout(r, 50));
  t.is((await remote.deliver(request(t, 'x\n', ['b@d.test'])))[0]!.outcome.kind, 'ok');
  t.is(peer.connections(), 2);
});

test('an idle session is QUIT after sessionIdle seconds; 0 disables reuse', async (t) => {
  const peer = await scriptedPeer(t, {});
  // The reference: a session kept 60 s, opened first. The one kept 0.2 s must be QUIT
  // before it (the setting rules the timer) and not before 0.2 s: no wall-clock upper
  // bound, which a loaded machine stretches.
  const kept = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 60 }));
  t.teardown(() => kept.close());
  await kept.deliver(request(t, 'x\n', ['a@d.test']));
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 0.2 }));
  const started = Date.now();
  await remote.deliver(request(t, 'x\n', ['a@d.test']));
  t.false(peer.sessions[1]!.commands.includes('QUIT'));
  await until('the idle session\'s QUIT', () => peer.sessions[1]!.commands.includes('QUIT'));
  t.true(Date.now() - started >= 200, `QUIT after ${Date.now() - started} ms`);
  t.false(peer.sessions[0]!.commands.includes('QUIT'), 'the session kept 60 s is still open');
  const once = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 0 }));
  await once.deliver(request(t, 'x\n', ['a@d.test']));
  await until('the QUIT without the cache', () => peer.sessions[2]!.commands.includes('QUIT'));
  t.false(peer.sessions[0]!.commands.includes('QUIT'), 'QUIT at once without the cache, long before 60 s');
});
