// The sendmail command line, as qmail's sendmail wrapper reads it, turned into one action.
//
// Interface: parseSendmailArgs(argv, invokedAs, env) -> SendmailAction.
// Flags: -t (recipients from the header too: qmail-inject -H; without it -a), -f sender
// (passed on; also sets QMAILUSER/QMAILHOST from it and clears the names and hosts so the
// default From matches), -F name (MAILNAME), -bm (default), -bp (mailq), -bs (SMTP on
// stdin/stdout), -q[...] (run the queue now; qmail's wrapper had no -q). Ignored, as qmail:
// -v -i -x -m -e<x> -o<x> (-oi -odb -oem ...) -B<x> -p<x> -E[x] -J[x].
// Failures: another -b mode or an unknown flag -> usage (exit 100); invoked as newaliases ->
// refusal (exit 100).
// Departure from qmail: -F is kept when -f is also given (qmail loses it as a side effect of
// clearing MAILNAME for -f).

import type { Env } from './identity.js';
import { getopt, type OptionKind } from './getopt.js';

export const SENDMAIL_USAGE = 'sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ -q ] [ arg ... ]';

export type SendmailAction =
  | { readonly kind: 'inject'; readonly argv: readonly string[]; readonly env: Env }
  | { readonly kind: 'mailq' }
  | { readonly kind: 'smtp' }
  | { readonly kind: 'run-queue' }
  | { readonly kind: 'usage' }
  | { readonly kind: 'newaliases' };

const SPEC: Readonly<Record<string, OptionKind>> = {
  v: 'flag', i: 'flag', m: 'flag', t: 'flag', x: 'flag',
  e: 'arg', f: 'arg', p: 'arg', o: 'arg', B: 'arg', F: 'arg', b: 'arg',
  E: 'attached', J: 'attached', q: 'attached',
};

/** qmail's do_sender: the default From follows the -f address. */
function senderEnv(env: Env, sender: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const n of ['QMAILNAME', 'MAILNAME', 'NAME', 'QMAILHOST', 'MAILHOST']) delete out[n];
  const at = sender.lastIndexOf('@');
  if (at < 0) {
    out['QMAILUSER'] = sender;
  } else {
    out['QMAILUSER'] = sender.slice(0, at);
    out['QMAILHOST'] = sender.slice(at + 1);
  }
  return out;
}

function mode(value: string): SendmailAction | undefined {
  switch (value[0]) {
    case 'm': return undefined;
    case 'p': return { kind: 'mailq' };
    case 's': return { kind: 'smtp' };
    default: return { kind: 'usage' };
  }
}

/** Reads sendmail's arguments (without the program name). */
export function parseSendmailArgs(argv: readonly string[], invokedAs: string, env: Env): SendmailAction {
  const p = getopt(argv, SPEC);
  if ('bad' in p) return { kind: 'usage' };
  let headerToo = false;
  let sender: string | undefined;
  let name: string | undefined;
  for (const [letter, value] of p.options) {
    if (letter === 't') headerToo = true;
    else if (letter === 'f') sender = value;
    else if (letter === 'F') name = value;
    else if (letter === 'q') return { kind: 'run-queue' };
    else if (letter === 'b') {
      const m = mode(value);
      if (m) return m;
    }
  }
  if (invokedAs === 'mailq') return { kind: 'mailq' };
  if (invokedAs === 'newaliases') return { kind: 'newaliases' };
  let outEnv: Record<string, string | undefined> = sender === undefined ? { ...env } : senderEnv(env, sender);
  if (name !== undefined) outEnv = { ...outEnv, MAILNAME: name };
  const args = [headerToo ? '-H' : '-a', ...(sender === undefined ? [] : ['-f', sender]), '--', ...p.rest];
  return { kind: 'inject', argv: args, env: outEnv };
}
