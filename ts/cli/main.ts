#!/usr/bin/env node
// The `qmta` command: global options, the subcommand list, exit codes. Wiring only.
//
// Interface: `qmta [--home DIR] <command> ...`. The home is --home, else $QMTA_HOME, else
// ./qmta-home. Each subcommand lives in its own module exporting
// `register(program: Command, ctx: CliContext): void`; adding a command is one line in
// COMMANDS below. Actions set process.exitCode; a daemon's action may leave handles open.
// Exit codes (qmail's): 0 success; 100 permanent failure or usage error; 111 temporary failure.
// Failures are printed by ctx.fail as "qmta: <text> (#<status>)" on stderr.

import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ensureHome } from '../home/create.js';
import { signalRunning } from '../home/pid.js';
import { ok, type Failure, type Outcome } from '../outcome.js';

/** What every subcommand module gets. */
export interface CliContext {
  /** The absolute home directory (--home, $QMTA_HOME, ./qmta-home). */
  home(): string;
  /** Prints the failure and returns its exit code: 100 permanent, 111 temporary. */
  fail(f: Failure): number;
  /** Creates a missing home with working defaults (commands that change users/ or control/). */
  ensureHome(): Promise<Outcome<string>>;
  /** Makes a running qmta of this home reload control/ and users/ (SIGHUP); false if none runs. */
  reload(): Promise<boolean>;
}

export interface CliModule {
  register(program: Command, ctx: CliContext): void;
}

/** The subcommands, one line each. */
const COMMANDS: Array<() => Promise<CliModule>> = [
  () => import('./user.js'),
  () => import('./inject.js'),
  () => import('./helpers.js'),
  () => import('./list.js'),
  () => import('./start.js'),
  () => import('./queue.js'),
];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function context(program: Command): CliContext {
  const home = () => resolve((program.opts() as { home?: string }).home ?? process.env.QMTA_HOME ?? 'qmta-home');
  return {
    home,
    fail: (f) => {
      process.stderr.write(`qmta: ${f.text} (#${f.status})\n`);
      return f.kind === 'perm' ? 100 : 111;
    },
    ensureHome: async () => {
      const r = await ensureHome(home());
      return r.kind === 'ok' ? ok(home()) : r;
    },
    reload: () => signalRunning(home(), 'SIGHUP'),
  };
}

/** Builds the program with every subcommand registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('qmta')
    .description('a mail transfer agent in the spirit of qmail')
    .version(version())
    .option('--home <dir>', 'the qmta home directory (default: $QMTA_HOME, else ./qmta-home)')
    .exitOverride()
    .showHelpAfterError();
  const ctx = context(program);
  for (const load of COMMANDS) (await load()).register(program, ctx);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    process.exitCode = err.exitCode === 0 ? 0 : 100;
  }
}

/** True when this file is the program being run (also through npm's bin symlink), not an import. */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`qmta: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 111;
  });
}
