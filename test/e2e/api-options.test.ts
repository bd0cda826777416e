// createMta checks the embedding options it cannot work with before it touches the home:
// a malformed store or hooks option is a TypeError naming the problem (the hooks at work:
// hooks.test.ts, hooks-order.test.ts, hooks-failures.test.ts).

import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createMta } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';

test('a malformed store or hooks option is a TypeError, and nothing is created', async (t) => {
  const home = join(tempDir(t), 'home');
  await t.throwsAsync(createMta({ home, store: { deliver: 'x' } as never }), { instanceOf: TypeError, message: 'store.deliver must be a function' });
  await t.throwsAsync(createMta({ home, hooks: { rcptTo: () => undefined } as never }), { instanceOf: TypeError, message: /hooks\.rcptTo is not a hook point/ });
  await t.throwsAsync(createMta({ home, hooks: { rcpt: 'x' } as never }), { instanceOf: TypeError });
  t.false(existsSync(home), 'nothing was created');
});
