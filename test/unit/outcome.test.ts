import test from 'ava';
import { assertNever, describe, fromException, isFailure, ok, perm, temp } from '../../ts/outcome.js';

test('failures carry a status that agrees with their kind', (t) => {
  t.deepEqual(temp('4.3.0', 'disk'), { kind: 'temp', status: '4.3.0', text: 'disk' });
  t.throws(() => temp('5.1.1', 'x'));
  t.throws(() => perm('4.1.1', 'x'));
  t.throws(() => perm('5.1', 'x'));
});

test('describe prints qmail HCMSSC form', (t) => {
  t.is(describe(perm('5.1.1', 'Sorry, no mailbox here by that name.')), 'Sorry, no mailbox here by that name. (#5.1.1)');
});

test('an exception becomes a temporary failure, never success', (t) => {
  const f = fromException(new Error('boom'));
  t.is(f.kind, 'temp');
  t.is(f.status, '4.3.0');
  t.true(isFailure(f));
  t.false(isFailure(ok(1)));
});

test('assertNever throws on values that escaped the type system', (t) => {
  t.throws(() => assertNever('x' as never));
});
