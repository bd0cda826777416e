// ts/remote with DNS answers from a real server (dnsmasq from Debian) on a loopback
// port: MX preference, fallback to the next MX, implicit MX (A records), null MX,
// NXDOMAIN, a DNS server that never answers, smtproutes overriding MX, and an MX that
// points back at this host.

import test from 'ava';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { dnsmasq, request, silentDns, smtpPeer, testSettings } from './remote-peers.js';

/** Two smtp-server peers on 127.0.0.2 and 127.0.0.3 sharing one port (retried if that port is taken on .3). */
async function twoPeers(t: import('ava').ExecutionContext) {
  for (let attempt = 0; ; attempt++) {
    const a = await smtpPeer(t, { options: { hideSTARTTLS: true } }, '127.0.0.2');
    try {
      const b = await smtpPeer(t, { options: { hideSTARTTLS: true } }, '127.0.0.3', a.port);
      return { port: a.port, a: a.received, b: b.received };
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
}

const ZONE = [
  '--mx-host=pref.test,mx1.pref.test,10', '--mx-host=pref.test,mx2.pref.test,20',
  '--host-record=mx1.pref.test,127.0.0.2', '--host-record=mx2.pref.test,127.0.0.3',
  '--mx-host=dead.test,mxdead.dead.test,10', '--mx-host=dead.test,mx2.pref.test,20',
  '--host-record=mxdead.dead.test,127.0.0.9',
  '--host-record=plain.test,127.0.0.3',
  '--mx-host=null.test,.,0',
  '--mx-host=routed.test,mx1.pref.test,10',
];

test('MX by preference: the best MX gets the mail', async (t) => {
  const peers = await twoPeers(t);
  const dns = await dnsmasq(t, ZONE);
  const remote = createRemoteDelivery(testSettings({ dnsServers: [dns], port: peers.port }));
  const res = await remote.deliver(request(t, 'x\n', ['u@pref.test']));
  t.is(res[0]!.outcome.kind, 'ok');
  t.is(peers.a.length, 1);
  t.is(peers.b.length, 0);
});

test('an MX that refuses connections falls back to the next preference', async (t) => {
  const peers = await twoPeers(t);
  const dns = await dnsmasq(t, ZONE);
  const res = await createRemoteDelivery(testSettings({ dnsServers: [dns], port: peers.port })).deliver(request(t, 'x\n', ['u@dead.test']));
  t.is(res[0]!.outcome.kind, 'ok');
  t.is(peers.b.length, 1);
});

test('no MX: the domain A record is used', async (t) => {
  const peers = await twoPeers(t);
  const dns = await dnsmasq(t, ZONE);
  const res = await createRemoteDelivery(testSettings({ dnsServers: [dns], port: peers.port })).deliver(request(t, 'x\n', ['u@plain.test']));
  t.is(res[0]!.outcome.kind, 'ok');
  t.is(peers.b.length, 1);
});

test('null MX is permanent 5.1.10; NXDOMAIN is permanent 5.1.2', async (t) => {
  const dns = await dnsmasq(t, ZONE);
  const remote = createRemoteDelivery(testSettings({ dnsServers: [dns] }));
  const nul = await remote.deliver(request(t, 'x\n', ['u@null.test', 'v@null.test']));
  t.deepEqual(nul.map((r) => r.outcome.kind === 'perm' && r.outcome.status), ['5.1.10', '5.1.10']);
  const nx = await remote.deliver(request(t, 'x\n', ['u@nowhere.test']));
  t.like(nx[0]!.outcome, { kind: 'perm', status: '5.1.2', text: "Sorry, I couldn't find any host named nowhere.test." });
});

test('a DNS server that never answers is a temporary 4.1.2', async (t) => {
  const dns = await silentDns(t);
  const started = Date.now();
  const res = await createRemoteDelivery(testSettings({ dnsServers: [dns] })).deliver(request(t, 'x\n', ['u@pref.test']));
  t.like(res[0]!.outcome, { kind: 'temp', status: '4.1.2' });
  t.true(Date.now() - started < 5000);
});

test('smtproutes overrides MX; an empty relay restores MX for its domain', async (t) => {
  const peers = await twoPeers(t);
  const dns = await dnsmasq(t, ZONE);
  const settings = testSettings({
    dnsServers: [dns], port: 1,
    smtproutes: [{ key: 'pref.test', relay: '', port: 25 }, { key: '.test', relay: 'mx2.pref.test', port: peers.port }],
  });
  const remote = createRemoteDelivery(settings);
  const routed = await remote.deliver(request(t, 'x\n', ['u@routed.test']));
  t.is(routed[0]!.outcome.kind, 'ok');
  t.is(peers.b.length, 1, 'routed.test went to the relay, not to its MX (127.0.0.2)');
  t.is(peers.a.length, 0);
  const viaMx = await remote.deliver(request(t, 'x\n', ['u@pref.test']));
  t.like(viaMx[0]!.outcome, { kind: 'temp', status: '4.4.1' }, 'pref.test used its MX, on port 1 where nothing listens');
});

test('an MX that is this host (loopback, default local addresses) loops back: perm 5.4.6', async (t) => {
  const dns = await dnsmasq(t, ZONE);
  const res = await createRemoteDelivery(testSettings({ dnsServers: [dns], localAddresses: undefined })).deliver(request(t, 'x\n', ['u@pref.test']));
  t.like(res[0]!.outcome, { kind: 'perm', status: '5.4.6' });
});

test('IPv6 and IPv4: an AAAA-only host is reached over ::1; a dual-stack host falls back to IPv4', async (t) => {
  const six = await smtpPeer(t, { options: { hideSTARTTLS: true } }, '::1');
  const dns = await dnsmasq(t, [`--host-record=six.test,::1`, `--host-record=dual.test,127.0.0.3,::1`]);
  const r6 = await createRemoteDelivery(testSettings({ dnsServers: [dns], port: six.port })).deliver(request(t, 'x\n', ['u@six.test']));
  t.is(r6[0]!.outcome.kind, 'ok');
  if (r6[0]!.outcome.kind === 'ok') t.regex(r6[0]!.outcome.value, /^::1 accepted message/);
  const four = await smtpPeer(t, { options: { hideSTARTTLS: true } }, '127.0.0.3');
  const r4 = await createRemoteDelivery(testSettings({ dnsServers: [dns], port: four.port })).deliver(request(t, 'x\n', ['u@dual.test']));
  t.is(r4[0]!.outcome.kind, 'ok', '::1 refused on that port, 127.0.0.3 took it');
  t.is(four.received.length, 1);
});
