// DKIM signing's pure parts: the From domains of a header section, the keyring's choice of
// keys (exact domain, nearest parent), the envelope sender's domain (VERP form included),
// and control/dkimkeys parsing.

import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { loadConfig } from '../../ts/config/index.js';
import { keyringOf, type DkimKey } from '../../ts/dkim/keyring.js';
import { fromDomains, signMessage } from '../../ts/dkim/sign.js';
import { senderDomain } from '../../ts/dkim/signing-queue.js';
import { tempDir } from '../helpers/home.js';

const head = (s: string) => Buffer.from(s, 'latin1');

test('fromDomains: display names, groups of addresses, folding, quoted local parts, CR LF, no From', (t) => {
  t.deepEqual(fromDomains(head('Subject: x\nFrom: "Doe, J" <j@Example.COM>\n\nFrom: b@body.test\n')), ['example.com']);
  t.deepEqual(fromDomains(head('From: a@one.test,\n\tB <b@two.test>\r\nTo: c@x\r\n\r\n')), ['one.test', 'two.test']);
  t.deepEqual(fromDomains(head('From: "a@b"@three.test (comment)\n\n')), ['three.test']);
  t.deepEqual(fromDomains(head('To: x@y.test\n\n')), []);
  t.deepEqual(fromDomains(head('From: (unterminated\n\n')), []);
});

function key(domain: string, selector: string): DkimKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { domain, selector, path: '/k', algorithm: 'ed25519', bits: 256, pem: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })), key: privateKey };
}

test('keyring: every selector of the exact domain, else the nearest listed parent, never a bare TLD', (t) => {
  const ring = keyringOf([key('example.com', 'a'), key('example.com', 'b'), key('mail.example.com', 'c'), key('com', 'd')]);
  t.deepEqual(ring.forDomain('Example.Com').map((k) => k.selector), ['a', 'b']);
  t.deepEqual(ring.forDomain('news.example.com').map((k) => k.selector), ['a', 'b']);
  t.deepEqual(ring.forDomain('x.mail.example.com.').map((k) => k.selector), ['c']);
  t.deepEqual(ring.forDomain('other.org'), []);
  t.deepEqual(ring.forDomain('elsewhere.com'), [], 'the TLD line is never used');
});

test('senderDomain: plain, VERP (P@H-@[]), null and #@[]', (t) => {
  t.is(senderDomain('a@b.test'), 'b.test');
  t.is(senderDomain('team-return-@lists.test-@[]'), 'lists.test');
  t.is(senderDomain(''), undefined);
  t.is(senderDomain('nodomain@'), undefined);
});

test('signMessage: no key for the domain leaves the message unsigned and reads it to its end', async (t) => {
  let read = 0;
  const src = Readable.from((function* () { for (let i = 0; i < 5; i++) { read++; yield Buffer.from(i === 0 ? 'From: a@x.test\n\n' : 'body\n'); } })());
  const r = await signMessage(keyringOf([key('example.com', 'a')]), src);
  t.deepEqual(r, { kind: 'ok', value: '' });
  t.is(read, 5);
});

test('signMessage: a header section over 1 MiB without an end is refused 5.3.4', async (t) => {
  const big = Buffer.alloc(1024 * 1024 + 10, 'a');
  const r = await signMessage(keyringOf([key('example.com', 'a')]), Readable.from([Buffer.from('From: a@example.com\n'), big]));
  t.like(r, { kind: 'perm', status: '5.3.4' });
});

test('control/dkimkeys: relative paths resolve in the home, domains are lowercased, # lines sign nothing', async (t) => {
  const home = tempDir(t);
  const c = await loadConfig(home, { me: 'x.test', dkimkeys: ['Example.COM:s1:control/dkim/a.key', '# old:s0:x', 'example.com:s2:/abs/b.key'] });
  if (c.kind !== 'ok') return t.fail(c.text);
  t.deepEqual(c.value.dkimkeys, [
    { domain: 'example.com', selector: 's1', path: `${home}/control/dkim/a.key` },
    { domain: 'example.com', selector: 's2', path: '/abs/b.key' },
  ]);
  for (const bad of ['example.com', 'ex ample.com:s:k', 'example.com:-s:k', 'example.com:s:']) {
    const r = await loadConfig(home, { me: 'x.test', dkimkeys: [bad] });
    t.like(r, { kind: 'temp', status: '4.3.5' }, bad);
  }
});
