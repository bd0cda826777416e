// The sendmail and mailq commands (qmail's sendmail wrapper): what programs that call
// /usr/sbin/sendmail get. Injection goes through qmail-inject's rules (command.ts).
//
// Interface: sendmailMain(argv, invokedAs, io) -> exit code; mailqMain(io) -> exit code;
// homeOf(env) -> the home directory ($QMTA_HOME, else ./qmta-home, as DESIGN.md says).
// Actions: inject (default); -bp / mailq: the queue listing (qmail-qread format; mailqMain
// is also `qmta queue`); -q: make the
// running qmta retry every deferred message now (SIGALRM); -bs: SMTP on stdin/stdout
// (smtp-stdio.ts); newaliases: refused.
// Exit codes: 0 ok; 100 usage, newaliases, permanent failures; 111 temporary failures (no
// running qmta for -q or for a mailq by someone who may not read the queue, unreadable
// queue or configuration).

import { join, resolve } from 'node:path';
import { assertNever } from '../outcome.js';
import { signalRunning } from '../home/index.js';
import { qreadBlocks } from '../daemon/qread.js';
import type { Failure } from '../outcome.js';
import { becomeQueueOwner, mayUseQueue } from '../privilege/queue-owner.js';
import { openQueue } from '../queue/index.js';
import { requestListing } from '../submit/client.js';
import { writeBlocks } from '../submit/listing.js';
import { exitCode, injectCommand, type CommandIo } from './command.js';
import type { Env } from './identity.js';
import { parseSendmailArgs, SENDMAIL_USAGE } from './sendmail-args.js';
import { smtpOnStdio } from './smtp-stdio.js';

export interface SendmailIo extends CommandIo {
  readonly home: string;
}

/** The home directory for commands without --home. */
export function homeOf(env: Env): string {
  return resolve(env['QMTA_HOME'] ?? './qmta-home');
}

/**
 * qmail-qread's listing on stdout: from the running daemon over HOME/qmta.sock (it shows
 * this caller what ts/submit/policy.ts allows); with none running, read from HOME/queue by
 * root (as the queue's owner) or the queue's owner; anyone else gets exit 111.
 */
export async function mailqMain(io: Pick<SendmailIo, 'stdout' | 'stderr' | 'home'>, name = 'mailq'): Promise<number> {
  const fail = (f: Failure): number => {
    io.stderr.write(`${name}: fatal: ${f.text} (#${f.status})\n`);
    return exitCode(f);
  };
  const listed = await requestListing(io.home, io.stdout);
  if (listed) return listed.kind === 'ok' ? 0 : fail(listed);
  if (!mayUseQueue(io.home)) {
    return fail({ kind: 'temp', status: '4.3.0', text: `qmta is not running for ${io.home}, and only it may list the queue for uid ${process.getuid?.()}: try again later` });
  }
  const owner = becomeQueueOwner(io.home);
  if (owner.kind !== 'ok') return fail(owner);
  const q = await openQueue(join(io.home, 'queue'));
  if (q.kind !== 'ok') return fail(q);
  return (await writeBlocks(qreadBlocks(q.value), io.stdout)) === undefined ? 111 : 0;
}

async function runQueue(io: SendmailIo): Promise<number> {
  if (await signalRunning(io.home, 'SIGALRM')) return 0;
  io.stderr.write(`sendmail: fatal: no qmta is running for ${io.home} (#4.3.0)\n`);
  return 111;
}

/** Runs sendmail with argv (without the program name); invokedAs is the program's base name. */
export async function sendmailMain(argv: readonly string[], invokedAs: string, io: SendmailIo): Promise<number> {
  const a = parseSendmailArgs(argv, invokedAs, io.env);
  switch (a.kind) {
    case 'usage':
      io.stderr.write(`${SENDMAIL_USAGE}\n`);
      return 100;
    case 'newaliases':
      io.stderr.write('sendmail: fatal: qmta has no aliases database: aliases are .qmail files in HOME/alias\n');
      return 100;
    case 'mailq':
      return mailqMain(io);
    case 'run-queue':
      return runQueue(io);
    case 'smtp':
      return smtpOnStdio(io);
    case 'inject':
      return injectCommand(a.argv, { ...io, env: a.env }, io.home, 'sendmail');
    default:
      return assertNever(a);
  }
}
