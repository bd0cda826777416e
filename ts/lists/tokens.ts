// Single-use confirmation tokens for subscription changes: DIR/lists/NAME/pending/TOKEN holds
// the action and the address; confirming removes the file, so a token works exactly once.
//
// Interface: createToken(state, action, address, now) -> Outcome<token>;
// consumeToken(state, token, now) -> Outcome<Pending>.
// Failures: a token that is malformed, unknown, already used or older than TOKEN_DAYS ->
// perm 5.7.1; I/O -> temp 4.3.0.
// Guarantees: tokens are 128 random bits (hex), so they cannot be guessed; only
// [0-9a-f]{32} is ever used as a file name (no path from the network reaches the disk).

import { randomBytes } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, perm, temp, type Outcome } from '../outcome.js';
import { writeFileAtomic } from '../users/atomic-write.js';
import type { ListState } from './store.js';

export const TOKEN_DAYS = 7;

export interface Pending {
  readonly action: 'subscribe' | 'unsubscribe';
  readonly address: string;
  readonly created: number;
}

/** Records a pending change and returns its token. */
export async function createToken(s: ListState, action: Pending['action'], address: string, now: number): Promise<Outcome<string>> {
  const token = randomBytes(16).toString('hex');
  const pending: Pending = { action, address, created: now };
  const w = await writeFileAtomic(join(s.root, 'pending', token), JSON.stringify(pending), 0o600);
  return w.kind === 'ok' ? ok(token) : w;
}

/** Takes a pending change out, once. */
export async function consumeToken(s: ListState, token: string, now: number): Promise<Outcome<Pending>> {
  const bad = perm('5.7.1', 'this confirmation code is unknown, expired or already used');
  const t = token.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(t)) return bad;
  const path = join(s.root, 'pending', t);
  let pending: Pending;
  try {
    pending = JSON.parse(await readFile(path, 'utf8')) as Pending;
    await unlink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || err instanceof SyntaxError) return bad;
    return temp('4.3.0', `unable to read pending confirmation: ${code ?? String(err)}`);
  }
  if (now - pending.created > TOKEN_DAYS * 86_400_000) return bad;
  return ok(pending);
}
