// The hidden commands of trust partitioning, run by qmta itself, never by hand:
//   qmta lspawn QUEUE-UID [MARGIN] the delivery helper (root; requests on descriptor 3);
//                                  MARGIN: seconds a delivery may run past its time limit
//   qmta local-run -- TIMEOUT ...  one delivery as its mailbox owner (ts/lspawn/local-run.ts)
//   qmta pop3-run -- user home     a POP3 session as its mailbox owner (ts/lspawn/pop3-run.ts)
// Exit codes: lspawn 0 when the daemon closed the pair, 111 on an error; local-run 0
// (its result is the report it prints).

import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DELIVERY_MARGIN_S } from '../lspawn/helper.js';
import { lspawnServe } from '../native.js';
import type { CliContext } from './main.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function hidden(program: Command, name: string, run: (args: string[]) => Promise<number>): void {
  program.command(name, { hidden: true }).helpOption(false).allowUnknownOption().allowExcessArguments().argument('[args...]')
    .action(async (_a: unknown, _o: unknown, cmd: Command) => {
      process.exitCode = await run(cmd.args);
    });
}

/** Registers the hidden commands. */
export function register(program: Command, ctx: CliContext): void {
  hidden(program, 'lspawn', async (args) => {
    const [uid, margin = String(DELIVERY_MARGIN_S)] = args;
    if (process.getuid?.() !== 0 || !/^\d{1,10}$/.test(uid ?? '') || !/^\d{1,5}$/.test(margin)) return ctx.fail({ kind: 'perm', status: '5.3.5', text: 'lspawn is run by qmta start as root' });
    const r = lspawnServe(3, process.execPath, MAIN, Number(uid), Number(margin));
    return r.kind === 'ok' ? 0 : ctx.fail(r);
  });
  hidden(program, 'local-run', async (args) => (await import('../lspawn/local-run.js')).localRun(args));
  hidden(program, 'pop3-run', async (args) => (await import('../lspawn/pop3-run.js')).pop3Run(args));
}
