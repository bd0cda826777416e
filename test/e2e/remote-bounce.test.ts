// A 5xx from the remote server, end to end through the engine: createMta with
// control/smtproutes pointing at an smtp-server peer on loopback; the recipient the peer
// refuses is bounced (QSBMF) to the local sender with the remote server's text, the
// recipient it accepts is delivered, in one SMTP transaction.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMta, type DeliveryEvent } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';
import { smtpPeer } from './remote-peers.js';

test('a 5xx to RCPT bounces to the sender with "Remote host said:", the other recipient is delivered', async (t) => {
  const peer = await smtpPeer(t, { rcpt: { 'gone@far.test': { code: 550, message: '5.1.1 <gone@far.test>: user unknown' } } });
  const home = join(tempDir(t), 'home');
  const mta = await createMta({
    home, log: false,
    control: { me: 'mx.example', locals: ['mx.example'], smtproutes: [`:127.0.0.1:${peer.port}`] },
  });
  t.teardown(() => mta.stop(1000));
  const events: DeliveryEvent[] = [];
  mta.on('delivered', (e) => events.push(e));
  mta.on('failed', (e) => events.push(e));
  const bounced = new Promise<{ id: string; bounce: string | undefined }>((resolve) => mta.once('bounced', resolve));
  await mta.start();
  const id = await mta.inject({ from: 'postmaster@mx.example', to: ['ok@far.test', 'gone@far.test'], message: Buffer.from('Subject: out\n\nbody\n') });
  const b = await bounced;
  t.is(b.id, id);
  const bounceDelivered = new Promise<void>((resolve) => {
    const check = (e: DeliveryEvent) => { if (e.id === b.bounce) resolve(); };
    mta.on('delivered', check);
    if (events.some((e) => e.id === b.bounce)) resolve();
  });
  await bounceDelivered;
  t.is(peer.received.length, 1);
  t.deepEqual(peer.received[0]!.to, ['ok@far.test']);
  const ok = events.find((e) => e.recipient === 'ok@far.test');
  t.regex(ok?.report ?? '', /^127\.0\.0\.1 accepted message\./);
  const newDir = join(home, 'alias', 'Maildir', 'new');
  const text = readdirSync(newDir).map((f) => readFileSync(join(newDir, f), 'utf8')).find((m) => m.includes('qmail-send program')) ?? '';
  t.true(text.includes('<gone@far.test>:\n127.0.0.1 does not like recipient.\nRemote host said: 550 5.1.1 <gone@far.test>: user unknown'), text);
  t.false(text.includes('<ok@far.test>:'));
});
