// `qmta flush DOMAIN HOST:PORT`: sends a passive (dial-up) domain's maildir on over SMTP,
// as serialmail's maildirsmtp (ts/flush has the setup and the rules).
//
// Options: --prefix P (removed from each Delivered-To address; default the domain's
// virtualdomains prepend + "-"), --maildir DIR (default HOME/alias/<prepend>/Maildir/).
// Output: one line per message, "<file>: <recipient>: <peer's answer>" on stdout when
// sent, "qmta: <file>: <reason> (#status)" on stderr when left in place.
// Exit codes: 0 every message sent (or none waiting); 111 any message left by a
// temporary failure, or the peer unreachable, or the flush itself failed temporarily;
// 100 only permanent refusals (5xx or a message that is not for this passive queue:
// left in place for the administrator), or a usage error.

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { flushDomain, type FlushLine, type FlushReport } from '../flush/index.js';
import type { CliContext } from './main.js';

/** One line per message: the client's reports span lines ("...\nRemote host said: ..."). */
function print(line: FlushLine): void {
  const who = line.recipient !== undefined ? `${line.recipient}: ` : '';
  const flat = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  if (line.outcome.kind === 'ok') process.stdout.write(`${line.file}: ${who}${flat(line.outcome.value)}\n`);
  else process.stderr.write(`qmta: ${line.file}: ${who}${flat(line.outcome.text)} (#${line.outcome.status})\n`);
}

function exitCode(r: FlushReport): number {
  if (r.temp > 0 || r.untried > 0) return 111;
  return r.perm > 0 ? 100 : 0;
}

/** Registers `qmta flush`. */
export function register(program: Command, ctx: CliContext): void {
  program.command('flush <domain> <target>')
    .description('send a passive (dial-up) domain\'s maildir on over SMTP to HOST:PORT, as serialmail\'s maildirsmtp')
    .option('--prefix <prefix>', 'removed from each Delivered-To address (default: the virtualdomains prepend + "-")')
    .option('--maildir <dir>', 'the passive queue (default: HOME/alias/<prepend>/Maildir/)')
    .action(async (domain: string, target: string, o: { prefix?: string; maildir?: string }) => {
      const r = await flushDomain(ctx.home(), domain, target, {
        ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
        ...(o.maildir !== undefined ? { maildir: resolve(o.maildir) } : {}),
      });
      if (r.kind !== 'ok') {
        process.exitCode = ctx.fail(r);
        return;
      }
      r.value.lines.forEach(print);
      if (r.value.untried > 0) process.stderr.write(`qmta: ${r.value.untried} messages not tried: the peer could not be reached\n`);
      process.exitCode = exitCode(r.value);
    });
}
