// `qmta start`: runs the daemon on the home (ts/daemon). Logs go to HOME/log/qmta.log;
// --stdout also prints them. Exit codes: 0 after SIGTERM/SIGINT, 111 when it cannot start.

import type { Command } from 'commander';
import { runDaemon } from '../daemon/index.js';
import type { CliContext } from './main.js';

/** Registers `qmta start`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run qmta: the delivery engine and the listeners (creates a default home when missing)')
    .option('--stdout', 'also write the log to stdout')
    .action(async (opts: { stdout?: boolean }) => {
      process.exitCode = await runDaemon({ home: ctx.home(), stdout: opts.stdout === true });
    });
}
