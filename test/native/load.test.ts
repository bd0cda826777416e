import test from 'ava';
import { coreVersion, decodeFailure } from '../../ts/native.js';

test('the native core loads and reports its version', (t) => {
  t.regex(coreVersion(), /^\d+\.\d+\.\d+$/);
});

test('native errors decode into failures; other errors are rethrown', (t) => {
  const e = Object.assign(new Error('4.3.1 disk full'), { code: 'QMTA_TEMP' });
  t.deepEqual(decodeFailure(e), { kind: 'temp', status: '4.3.1', text: 'disk full' });
  const p = Object.assign(new Error('5.1.3 address too long'), { code: 'QMTA_PERM' });
  t.is(decodeFailure(p).kind, 'perm');
  t.throws(() => decodeFailure(new TypeError('bug')), { instanceOf: TypeError });
});
