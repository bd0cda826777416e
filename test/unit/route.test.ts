import test from 'ava';
import { originalRecipient, rewriteRecipient, routeTable, splitRecipients, virtualPrepend } from '../../ts/route/index.js';

const table = routeTable({
  envnoathost: 'home.example',
  locals: ['Home.Example', 'localhost'],
  percenthack: ['relay.example', 'inner.example'],
  virtualdomains: [
    { key: 'nowhere.mil', prepend: 'joe-foo' },
    { key: 'virt.example', prepend: 'v' },
    { key: 'special@virt.example', prepend: 'sp' },
    { key: '.wild.example', prepend: 'wild' },
    { key: '.deep.wild.example', prepend: 'deep' },
    { key: 'except.wild.example', prepend: '' },
    { key: 'home.example', prepend: 'never' },
    { key: 'dup.example', prepend: 'first' },
    { key: 'dup.example', prepend: 'last' },
  ],
});

const CASES: Array<[string, 'local' | 'remote', string, string]> = [
  ['joe', 'local', 'joe@home.example', 'no @: envnoathost appended'],
  ['Joe@HOME.example', 'local', 'Joe@HOME.example', 'locals: case-insensitive domain, local part kept'],
  ['joe@localhost', 'local', 'joe@localhost', 'second locals entry'],
  ['info@nowhere.mil', 'local', 'joe-foo-info@nowhere.mil', 'qmail.md example'],
  ['Info@NoWhere.MIL', 'local', 'joe-foo-Info@NoWhere.MIL', 'virtual key case-insensitive, address kept'],
  ['anyone@virt.example', 'local', 'v-anyone@virt.example', 'domain key'],
  ['special@virt.example', 'local', 'sp-special@virt.example', 'whole-address key beats the domain'],
  ['Special@Virt.Example', 'local', 'sp-Special@Virt.Example', 'whole-address key is case-insensitive'],
  ['a@x.wild.example', 'local', 'wild-a@x.wild.example', '.suffix key'],
  ['a@x.deep.wild.example', 'local', 'deep-a@x.deep.wild.example', 'longest .suffix first'],
  ['a@except.wild.example', 'remote', 'a@except.wild.example', 'empty prepend is an exception'],
  ['a@wild.example', 'remote', 'a@wild.example', '.suffix does not match the bare domain'],
  ['u@home.example', 'local', 'u@home.example', 'locals take precedence over virtualdomains'],
  ['u@dup.example', 'local', 'last-u@dup.example', 'duplicate keys: the last line wins (constmap)'],
  ['u@elsewhere.example', 'remote', 'u@elsewhere.example', 'everything else is remote'],
  ['u%elsewhere.example@relay.example', 'remote', 'u@elsewhere.example', 'percenthack'],
  ['u%home.example@relay.example', 'local', 'u@home.example', 'percenthack then locals'],
  ['u%a.example%inner.example@relay.example', 'remote', 'u@a.example', 'percenthack repeats, last % first'],
  ['u%b%c@Relay.Example', 'remote', 'u%b@c', 'percenthack domain case-insensitive; stops at unlisted domain'],
  ['u%x@elsewhere.example', 'remote', 'u%x@elsewhere.example', 'percenthack only for listed domains'],
  ['nopercent@relay.example', 'remote', 'nopercent@relay.example', 'listed domain without %'],
  ['u%virt.example@relay.example', 'local', 'v-u@virt.example', 'percenthack then virtualdomains'],
  ['a@b@virt.example', 'local', 'v-a@b@virt.example', 'the last @ splits the address'],
];

for (const [input, channel, address, why] of CASES) {
  test(`rewrite ${input}: ${why}`, (t) => {
    t.deepEqual(rewriteRecipient(input, table), { channel, address });
  });
}

test('the catch-all key takes every non-local domain not otherwise matched', (t) => {
  const catchAll = routeTable({
    envnoathost: 'h.example', locals: ['h.example'], percenthack: [],
    virtualdomains: [{ key: '', prepend: 'all' }, { key: 'out.example', prepend: '' }],
  });
  t.deepEqual(rewriteRecipient('x@any.example', catchAll), { channel: 'local', address: 'all-x@any.example' });
  t.deepEqual(rewriteRecipient('x@out.example', catchAll), { channel: 'remote', address: 'x@out.example' });
  t.deepEqual(rewriteRecipient('x@h.example', catchAll), { channel: 'local', address: 'x@h.example' });
});

test('splitRecipients keeps order within each channel', (t) => {
  t.deepEqual(splitRecipients(['a@far.example', 'b', 'c@virt.example', 'd@near.example'], table), {
    local: ['b@home.example', 'v-c@virt.example'],
    remote: ['a@far.example', 'd@near.example'],
  });
});

test('virtualPrepend ignores locals and reports exceptions as no prepend', (t) => {
  t.is(virtualPrepend('u@home.example', table), 'never');
  t.is(virtualPrepend('u@except.wild.example', table), undefined);
  t.is(virtualPrepend('u@unknown.example', table), undefined);
});

test('originalRecipient undoes the virtualdomains prepend for bounces', (t) => {
  for (const [input] of CASES) {
    const routed = rewriteRecipient(input, table);
    if (routed.address !== input && routed.address.endsWith(input)) {
      t.is(originalRecipient(routed.address, table), input, input);
    }
  }
  t.is(originalRecipient('joe-foo-info@nowhere.mil', table), 'info@nowhere.mil');
  t.is(originalRecipient('v-a-b@virt.example', table), 'a-b@virt.example');
  t.is(originalRecipient('joe-x@home.example', table), 'joe-x@home.example', 'locals are never virtual');
  t.is(originalRecipient('x-y@unknown.example', table), 'x-y@unknown.example');
  t.is(originalRecipient('plain', table), 'plain');
});

test('property: originalRecipient inverts every virtualdomains rewrite', async (t) => {
  const fc = (await import('fast-check')).default;
  const domains = ['nowhere.mil', 'virt.example', 'x.wild.example', 'a.deep.wild.example', 'dup.example', 'far.example'];
  const local = fc.stringMatching(/^[A-Za-z0-9._+=-]{1,20}$/);
  fc.assert(fc.property(local, fc.constantFrom(...domains), (l, d) => {
    const input = `${l}@${d}`;
    const r = rewriteRecipient(input, table);
    if (r.channel === 'local') return originalRecipient(r.address, table) === input;
    return r.address === input && originalRecipient(input, table) === input;
  }), { numRuns: 2000 });
  t.pass();
});
