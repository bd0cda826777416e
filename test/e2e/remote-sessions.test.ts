// Idle-session reuse: the next delivery to the same server goes over the open
// connection after RSET; a server that dropped the idle connection costs a fresh
// connect, not a failure; idle sessions are QUIT after sessionIdle.

import test from 'ava';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { request, routedTo, scriptedPeer } from './remote-peers.js';

test('a second delivery reuses the idle session after RSET', async (t) => {
  const peer = await scriptedPeer(t, {});
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 5 }));
  t.teardown(() => remote.close());
  for (const to of ['a@d.test', 'b@e.test']) t.is((await remote.deliver(request(t, 'x\n', [to])))[0]!.outcome.kind, 'ok');
  t.is(peer.connections(), 1);
  const cmds = peer.sessions[0]!.commands;
  t.deepEqual(cmds.slice(4), ['RSET', 'MAIL FROM:<alice@sender.test>', 'RCPT TO:<b@e.test>', 'DATA']);
});

test('an idle session the server closed is replaced by a fresh connection', async (t) => {
  const peer = await scriptedPeer(t, {});
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 5 }));
  t.teardown(() => remote.close());
  t.is((await remote.deliver(request(t, 'x\n', ['a@d.test'])))[0]!.outcome.kind, 'ok');
  peer.dropAll();
  await new Promise((r) => setTimeout(r, 50));
  t.is((await remote.deliver(request(t, 'x\n', ['b@d.test'])))[0]!.outcome.kind, 'ok');
  t.is(peer.connections(), 2);
});

test('an idle session is QUIT after sessionIdle seconds; 0 disables reuse', async (t) => {
  const peer = await scriptedPeer(t, {});
  const remote = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 0.2 }));
  await remote.deliver(request(t, 'x\n', ['a@d.test']));
  t.false(peer.sessions[0]!.commands.includes('QUIT'));
  await new Promise((r) => setTimeout(r, 400));
  t.true(peer.sessions[0]!.commands.includes('QUIT'));
  const once = createRemoteDelivery(routedTo(peer.port, { sessionIdle: 0 }));
  await once.deliver(request(t, 'x\n', ['a@d.test']));
  await new Promise((r) => setTimeout(r, 50));
  t.true(peer.sessions[1]!.commands.includes('QUIT'), 'QUIT at once without the cache');
});
