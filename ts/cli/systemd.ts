// `qmta systemd-unit [--root]`: prints a systemd unit for this installation and home
// (ts/deploy/systemd-unit.ts); README shows how to install it.
// Exit codes: 0.

import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { systemdUnit } from '../deploy/systemd-unit.js';
import type { CliContext } from './main.js';

/** Registers `qmta systemd-unit`. */
export function register(program: Command, ctx: CliContext): void {
  program.command('systemd-unit')
    .description('print a systemd unit for this qmta and home')
    .option('--root', 'start as root so qmta drops itself and runs the delivery helper (system accounts in users/assign)')
    .option('--account <name>', 'the account to run as (control/qmtauser)', 'qmta')
    .action((o: { root?: boolean; account: string }) => {
      const main = fileURLToPath(new URL('./main.js', import.meta.url));
      process.stdout.write(systemdUnit({ node: process.execPath, main, home: ctx.home(), root: o.root === true, account: o.account }));
    });
}
