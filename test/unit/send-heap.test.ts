// The DueHeap (idle jobs by retry time) and VERP sender expansion.

import test from 'ava';
import fc from 'fast-check';
import { DueHeap } from '../../ts/send/due-heap.js';
import { bounceTarget, expandSender } from '../../ts/send/verp.js';

test('DueHeap pops jobs in time order whatever the push order', (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1e9 }), fc.boolean()), { maxLength: 3000 }), (items) => {
    const h = new DueHeap();
    items.forEach(([time, local], i) => h.push(time, String(i), local ? 'local' : 'remote'));
    const out: number[] = [];
    for (let e = h.pop(); e; e = h.pop()) {
      const [time, local] = items[Number(e.id)]!;
      if (e.time !== time || e.channel !== (local ? 'local' : 'remote')) return false;
      out.push(e.time);
    }
    return out.length === items.length && out.every((v, i) => i === 0 || out[i - 1]! <= v);
  }));
  t.pass();
});

test('makeAllDue sets every job due now and keeps them all', (t) => {
  const h = new DueHeap();
  for (let i = 0; i < 5000; i++) h.push(1e12 + i * 1000, String(i), 'local');
  h.makeAllDue(42);
  t.is(h.peekTime(), 42);
  const ids = new Set<string>();
  for (let e = h.pop(); e; e = h.pop()) { t.is(e.time, 42); ids.add(e.id); }
  t.is(ids.size, 5000);
});

test('VERP: P@H-@[] becomes P + box=dom @H per recipient; bounces go to P@H', (t) => {
  t.is(expandSender('list-owner-@host.example-@[]', 'a@b.c'), 'list-owner-a=b.c@host.example');
  t.is(expandSender('ezlist-return-5-@lists.example-@[]', 'x+y=z@d.example'), 'ezlist-return-5-x+y=z=d.example@lists.example');
  t.is(expandSender('plain@host', 'a@b.c'), 'plain@host');
  t.is(expandSender('', 'a@b.c'), '');
  t.is(expandSender('#@[]', 'a@b.c'), '#@[]');
  t.deepEqual(bounceTarget('list-owner-@host-@[]'), { kind: 'single', to: 'list-owner-@host' });
  t.deepEqual(bounceTarget('a@b'), { kind: 'single', to: 'a@b' });
  t.deepEqual(bounceTarget(''), { kind: 'double' });
  t.deepEqual(bounceTarget('#@[]'), { kind: 'triple' });
});
