// The delivery helpers as `qmta` subcommands for `|` lines in .qmail files: forward,
// condredirect, bouncesaying, except, preline, qreceipt (ts/helpers, qmail's arguments,
// environment and exit codes).
// Interface: register(program, ctx). Arguments pass through untouched (a wrapped program's
// own options included). The message is stdin (fd 0), as qmail-local gives it. forward and
// condredirect ARC-seal what they queue when control/arcseal is on (ts/dkim/arc-seal.ts).

import type { Command } from 'commander';
import type { CliContext } from './main.js';
import { openOutgoingQueue } from '../dkim/open-queue.js';
import { runBouncesaying, runExcept } from '../helpers/bouncesaying.js';
import { runCondredirect } from '../helpers/condredirect.js';
import { runForward } from '../helpers/forward.js';
import type { HelperIo } from '../helpers/io.js';
import { runPreline } from '../helpers/preline.js';
import { runQreceipt } from '../helpers/qreceipt.js';

type Helper = (args: readonly string[], io: HelperIo) => Promise<number>;

const HELPERS: ReadonlyArray<readonly [string, string, Helper]> = [
  ['forward', 'queue the message to addresses (sender $NEWSENDER): address ...', runForward],
  ['condredirect', 'redirect the message when program exits 0: newaddress program [arg ...]', runCondredirect],
  ['bouncesaying', 'bounce with text (when program exits 0): text [program [arg ...]]', runBouncesaying],
  ['except', 'invert a program\'s exit code (0 -> 100): program [arg ...]', runExcept],
  ['preline', 'feed a program From_, Return-Path, Delivered-To and the message: [-dfrDFR] cmd [arg ...]', runPreline],
  ['qreceipt', 'answer Notice-Requested-Upon-Delivery-To for this address: address', runQreceipt],
];

/** Helpers that send a message on for someone else: ARC-sealed when control/arcseal is on. */
const SEALED = new Set(['forward', 'condredirect']);

/** Registers the helper subcommands. */
export function register(program: Command, ctx: CliContext): void {
  for (const [name, description, run] of HELPERS) {
    program.command(name)
      .description(description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .action(async (_args: string[], _opts: unknown, cmd: Command) => {
        const io: HelperIo = {
          env: process.env, stdinFd: 0, stdout: process.stdout, stderr: process.stderr,
          openQueue: () => openOutgoingQueue(ctx.home(), { sign: false, seal: SEALED.has(name) }),
        };
        process.exitCode = await run(cmd.args, io);
      });
  }
}
