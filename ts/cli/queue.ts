// `qmta queue`: qmail-qread's listing (as mailq: from the running daemon, which shows the
// caller what ts/submit/policy.ts allows, else from the queue for root or its owner);
// `qmta queue stat`: qmail-qstat's two lines;
// `qmta queue run`: every deferred delivery due now (SIGALRM to the running qmta, the
// way `sendmail -q` pokes qmail-send).
// Exit codes: 0; 111 when the queue cannot be opened, or (run) no qmta runs on the home.

import { join } from 'node:path';
import type { Command } from 'commander';
import { qstat } from '../daemon/qread.js';
import { mailqMain } from '../inject/sendmail.js';
import { signalRunning } from '../home/pid.js';
import { temp } from '../outcome.js';
import { openQueue } from '../queue/index.js';
import type { Queue } from '../queue/types.js';
import type { CliContext } from './main.js';

function withQueue(ctx: CliContext, fn: (q: Queue) => string): void {
  const q = openQueue(join(ctx.home(), 'queue'));
  if (q.kind !== 'ok') {
    process.exitCode = ctx.fail(q);
    return;
  }
  process.stdout.write(fn(q.value));
}

/** Registers `qmta queue [stat|run]`. */
export function register(program: Command, ctx: CliContext): void {
  const queue = program
    .command('queue')
    .description('list the queue like qmail-qread')
    .action(async () => {
      process.exitCode = await mailqMain({ stdout: process.stdout, stderr: process.stderr, home: ctx.home() }, 'qmta queue');
    });
  queue.command('stat').description('count queued messages like qmail-qstat').action(() => withQueue(ctx, qstat));
  queue
    .command('run')
    .description('make every deferred delivery due now (SIGALRM to the running qmta)')
    .action(async () => {
      if (!(await signalRunning(ctx.home(), 'SIGALRM'))) process.exitCode = ctx.fail(temp('4.3.0', `no qmta is running on ${ctx.home()}`));
    });
}
