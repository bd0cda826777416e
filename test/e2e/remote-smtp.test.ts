// ts/remote against smtp-server (npm) on loopback: per-recipient results in one
// transaction, remote texts carried into the outcomes, SIZE, STARTTLS (tolerated and
// required), AUTH to a smarthost.

import test from 'ava';
import { createRemoteDelivery } from '../../ts/remote/index.js';
import { request, routedTo, selfSigned, smtpPeer } from './remote-peers.js';

test('mixed per-recipient results in one pipelined transaction, with qmail wording', async (t) => {
  const peer = await smtpPeer(t, {
    rcpt: {
      'gone@d.test': { code: 550, message: '5.1.1 no such user here' },
      'busy@d.test': { code: 451, message: '4.2.1 mailbox busy' },
    },
  });
  const remote = createRemoteDelivery(routedTo(peer.port));
  const req = request(t, 'Subject: hi\n\nhello\n', ['ok1@d.test', 'gone@d.test', 'busy@d.test', 'ok2@d.test']);
  const res = await remote.deliver(req);
  t.deepEqual(res.map((r) => [r.address, r.outcome.kind]), [['ok1@d.test', 'ok'], ['gone@d.test', 'perm'], ['busy@d.test', 'temp'], ['ok2@d.test', 'ok']]);
  const gone = res[1]!.outcome;
  t.like(gone, { status: '5.1.1' });
  if (gone.kind === 'perm') t.is(gone.text, '127.0.0.1 does not like recipient.\nRemote host said: 550 5.1.1 no such user here');
  t.like(res[2]!.outcome, { status: '4.2.1' });
  const ok1 = res[0]!.outcome;
  if (ok1.kind === 'ok') t.regex(ok1.value, /^127\.0\.0\.1 accepted message\.\nRemote host said: 250 /);
  t.is(peer.received.length, 1, 'one transaction');
  t.deepEqual(peer.received[0]!.to, ['ok1@d.test', 'ok2@d.test']);
  t.is(peer.received[0]!.from, 'alice@sender.test');
  t.true(peer.received[0]!.secure, 'STARTTLS with the peer self-signed certificate was tolerated');
});

test('5xx after the final dot is permanent for every accepted recipient, with the remote text', async (t) => {
  const peer = await smtpPeer(t, { data: { code: 554, message: '5.7.1 spam detected' } });
  const remote = createRemoteDelivery(routedTo(peer.port));
  const res = await remote.deliver(request(t, 'x\n', ['a@d.test', 'b@d.test']));
  for (const r of res) {
    t.like(r.outcome, { kind: 'perm', status: '5.7.1' });
    if (r.outcome.kind === 'perm') t.is(r.outcome.text, '127.0.0.1 failed after I sent the message.\nRemote host said: 554 5.7.1 spam detected');
  }
});

test('a message bigger than the declared SIZE is not sent: perm 5.3.4', async (t) => {
  const peer = await smtpPeer(t, { options: { size: 100 } });
  const remote = createRemoteDelivery(routedTo(peer.port));
  const res = await remote.deliver(request(t, `Subject: big\n\n${'x'.repeat(200)}\n`, ['a@d.test']));
  t.like(res[0]!.outcome, { kind: 'perm', status: '5.3.4' });
  t.is(peer.received.length, 0);
  const small = await remote.deliver(request(t, 'Subject: small\n\nx\n', ['a@d.test']));
  t.is(small[0]!.outcome.kind, 'ok');
});

test('without PIPELINING and 8BITMIME the dialogue is sequential and still works', async (t) => {
  const peer = await smtpPeer(t, { rcpt: { 'no@d.test': { code: 550, message: 'nope' } }, options: { hidePIPELINING: true, hide8BITMIME: true, hideSTARTTLS: true } });
  const remote = createRemoteDelivery(routedTo(peer.port));
  const res = await remote.deliver(request(t, 'x\n', ['no@d.test', 'yes@d.test']));
  t.deepEqual(res.map((r) => r.outcome.kind), ['perm', 'ok']);
  t.like(res[0]!.outcome, { status: '5.0.0' }, 'no enhanced code in the reply: generic 5.0.0');
  t.false(peer.received[0]!.secure);
});

test('tlsrequired: a certificate that does not verify is a temporary failure and nothing is sent', async (t) => {
  const { key, cert } = selfSigned(t, 'mx.d.test');
  const peer = await smtpPeer(t, { options: { key, cert } });
  const settings = routedTo(peer.port, { tlsRequired: ['d.test'], smtproutes: [{ key: '', relay: '127.0.0.1', port: peer.port }] });
  const res = await createRemoteDelivery(settings).deliver(request(t, 'x\n', ['a@d.test']));
  t.like(res[0]!.outcome, { kind: 'temp', status: '4.7.5' });
  t.is(peer.received.length, 0);
});

test('tlsrequired: a verified certificate delivers over TLS; no STARTTLS offered is temporary', async (t) => {
  const { key, cert } = selfSigned(t, 'localhost');
  const good = await smtpPeer(t, { options: { key, cert } });
  const routes = (port: number) => [{ key: '', relay: 'localhost', port }];
  const dns = { resolveMx: async () => [], resolve4: async () => ['127.0.0.1'], resolve6: async () => [] as string[] };
  const logged: { tls?: string }[] = [];
  const log = { info: (o: object) => logged.push(o), warn: () => {}, error: () => {} };
  const ok = await createRemoteDelivery(routedTo(good.port, { tlsRequired: ['d.test'], tlsCa: cert, smtproutes: routes(good.port) }), { dns, log })
    .deliver(request(t, 'x\n', ['a@d.test']));
  t.is(ok[0]!.outcome.kind, 'ok');
  t.true(good.received[0]!.secure);
  t.regex(logged[0]?.tls ?? '', /^TLSv1\.[23] verified$/, 'the delivery log records the TLS result');
  const plain = await smtpPeer(t, { options: { hideSTARTTLS: true } });
  const no = await createRemoteDelivery(routedTo(plain.port, { tlsRequired: ['.test'], smtproutes: routes(plain.port) }), { dns })
    .deliver(request(t, 'x\n', ['a@d.test']));
  t.like(no[0]!.outcome, { kind: 'temp', status: '4.7.10' });
  t.is(plain.received.length, 0);
});

test('AUTH PLAIN and LOGIN to a smarthost with credentials from settings', async (t) => {
  for (const mech of ['PLAIN', 'LOGIN']) {
    const peer = await smtpPeer(t, {
      options: {
        authOptional: false, authMethods: [mech],
        onAuth(auth, _s, cb) {
          cb(auth.username === 'me' && auth.password === 'se:cret' ? null : new Error('bad'), { user: auth.username });
        },
      },
    });
    const settings = routedTo(peer.port, { auth: [{ relay: '127.0.0.1', user: 'me', password: 'se:cret' }] });
    const res = await createRemoteDelivery(settings).deliver(request(t, 'x\n', ['a@d.test']));
    t.is(res[0]!.outcome.kind, 'ok', mech);
    t.is(peer.received[0]?.user, 'me');
    const wrong = routedTo(peer.port, { auth: [{ relay: '127.0.0.1', user: 'me', password: 'wrong' }] });
    const bad = await createRemoteDelivery(wrong).deliver(request(t, 'x\n', ['a@d.test']));
    t.like(bad[0]!.outcome, { kind: 'temp' }, 'rejected credentials are our configuration: temporary');
  }
});

test('more than 100 recipients go in batches on one connection; RSET clears a refused batch', async (t) => {
  const rcpt: Record<string, { code: number; message: string }> = {};
  const recipients = Array.from({ length: 150 }, (_, i) => `u${i}@d.test`);
  for (const r of recipients.slice(0, 100)) rcpt[r] = { code: 550, message: '5.1.1 unknown' };
  const peer = await smtpPeer(t, { rcpt, options: { hideSTARTTLS: true } });
  const res = await createRemoteDelivery(routedTo(peer.port)).deliver(request(t, 'x\n', recipients));
  t.deepEqual(res.map((r) => r.address), recipients, 'results in request order');
  t.true(res.slice(0, 100).every((r) => r.outcome.kind === 'perm'));
  t.true(res.slice(100).every((r) => r.outcome.kind === 'ok'));
  t.is(peer.received.length, 1);
  t.is(peer.received[0]!.to.length, 50);
});
