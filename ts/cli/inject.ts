// `qmta inject [-nNaAhH] [-f sender] [recipient ...]`: qmail-inject (ts/inject/command.ts).
// Interface: register(program, ctx). Arguments are passed through untouched (qmail's getopt
// reads them), so recipients may look like options after the first plain word.
// Exit codes: qmail-inject's (0, 100, 111).

import type { Command } from 'commander';
import type { CliContext } from './main.js';
import { injectCommand } from '../inject/command.js';

/** Registers `qmta inject`. */
export function register(program: Command, ctx: CliContext): void {
  program.command('inject')
    .description('queue a message read on stdin, as qmail-inject: [-nNaAhH] [-f sender] [recipient ...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _opts: unknown, cmd: Command) => {
      const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
      process.exitCode = await injectCommand(cmd.args, io, ctx.home());
    });
}
