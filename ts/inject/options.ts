// qmail-inject's command line: [-nNaAhH] [-f sender] [recipient ...].
//
// Interface: parseInjectArgs(argv) -> Outcome<{ request, print }>.
// Failures: an unknown option or -f without a sender -> perm 5.3.5 "usage" (exit 100).
// Guarantees: the last of -a/-A/-h/-H and of -n/-N wins, as with qmail's getopt loop.

import { ok, perm, type Outcome } from '../outcome.js';
import type { RecipientStrategy } from './fixup.js';
import { getopt } from './getopt.js';
import type { InjectRequest } from './inject.js';

export const INJECT_USAGE = 'usage: qmta inject [-nNaAhH] [-f sender] [recipient ...]';

const STRATEGY: Readonly<Record<string, RecipientStrategy>> = { a: 'args', A: 'default', h: 'header', H: 'both' };

/** Parses qmail-inject's arguments. */
export function parseInjectArgs(argv: readonly string[]): Outcome<{ request: InjectRequest; print: boolean }> {
  const parsed = getopt(argv, { a: 'flag', A: 'flag', h: 'flag', H: 'flag', n: 'flag', N: 'flag', f: 'arg' });
  if ('bad' in parsed) return perm('5.3.5', INJECT_USAGE);
  let strategy: RecipientStrategy = 'default';
  let print = false;
  let sender: string | undefined;
  for (const [letter, value] of parsed.options) {
    if (letter === 'f') sender = value;
    else if (letter === 'n' || letter === 'N') print = letter === 'n';
    else strategy = STRATEGY[letter] as RecipientStrategy;
  }
  return ok({ request: { args: parsed.rest, strategy, sender }, print });
}
