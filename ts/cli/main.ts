#!/usr/bin/env node
// The `qmta` command: global options, the subcommand list, exit codes. Wiring only.
//
// Interface: `qmta [--home DIR] <command> ...`. The home is --home, else $QMTA_HOME, else
// ./qmta-home. Each subcommand lives in its own module exporting
// `register(program: Command, ctx: CliContext): void`; adding a command is one line in
// COMMANDS below (the top-level names the module registers, a one-line summary, its
// import). Actions set process.exitCode; a daemon's action may leave handles open.
// Start-up: only the module of the command being run is imported (`qmta inject` loads
// nothing of start, list, user...); help, --version, no command or an unknown name load
// them all, and a module that fails to load is listed with its summary and the error
// instead of breaking the other commands.
// Exit codes (qmail's): 0 success; 100 permanent failure or usage error; 111 temporary failure.
// Failures are printed by ctx.fail as "qmta: <text> (#<status>)" on stderr.

import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
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

export interface CommandEntry {
  /** The top-level command names the module registers. */
  readonly names: readonly string[];
  /** Shown by --help if the module cannot be loaded. */
  readonly summary: string;
  readonly load: () => Promise<CliModule>;
}

/** The subcommands, one line each, in help order. */
export const COMMANDS: readonly CommandEntry[] = [
  { names: ['user'], summary: 'manage mail users', load: () => import('./user.js') },
  { names: ['inject'], summary: 'queue a message read on stdin, as qmail-inject', load: () => import('./inject.js') },
  { names: ['forward', 'condredirect', 'bouncesaying', 'except', 'preline', 'qreceipt'], summary: 'delivery helpers for .qmail | lines', load: () => import('./helpers.js') },
  { names: ['list'], summary: 'mailing lists', load: () => import('./list.js') },
  { names: ['start'], summary: 'run qmta', load: () => import('./start.js') },
  { names: ['queue'], summary: 'list the queue, qmail-qstat, run the queue', load: () => import('./queue.js') },
  { names: ['qshape'], summary: 'the queue by domain and age, as Postfix qshape', load: () => import('./qshape.js') },
  { names: ['stats'], summary: 'delivery statistics from the logs, as qmailanalog', load: () => import('./stats.js') },
  { names: ['flush'], summary: 'send a passive (dial-up) domain\'s maildir on over SMTP', load: () => import('./flush.js') },
  { names: ['dkim'], summary: 'DKIM signing keys: keygen, show', load: () => import('./dkim.js') },
  { names: ['systemd-unit'], summary: 'print a systemd unit', load: () => import('./systemd.js') },
  { names: ['lspawn', 'local-run', 'pop3-run'], summary: 'trust partitioning\'s own commands (hidden)', load: () => import('./lspawn.js') },
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
    // Imported when used: most commands never need them (start-up cost).
    ensureHome: async () => {
      const { ensureHome } = await import('../home/create.js');
      const r = await ensureHome(home());
      return r.kind === 'ok' ? ok(home()) : r;
    },
    reload: async () => (await import('../home/pid.js')).signalRunning(home(), 'SIGHUP'),
  };
}

/** The command name in argv (after node, the script and the global options), if any. */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--home') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** Registers one table entry; a module that cannot load becomes a command that says so (exit 111). */
async function registerEntry(program: Command, ctx: CliContext, entry: CommandEntry): Promise<void> {
  let mod: CliModule;
  try {
    mod = await entry.load();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    for (const name of entry.names) {
      program.command(name).description(`${entry.summary} (unavailable: ${why})`).allowUnknownOption().allowExcessArguments()
        .action(() => { process.exitCode = ctx.fail({ kind: 'temp', status: '4.3.0', text: `cannot load the ${name} command: ${why}` }); });
    }
    return;
  }
  mod.register(program, ctx);
}

/** Builds the program with the subcommands argv needs (every one when argv names none of them). */
export async function buildProgram(argv: readonly string[] = [], table: readonly CommandEntry[] = COMMANDS): Promise<Command> {
  const program = new Command('qmta')
    .description('a mail transfer agent in the spirit of qmail')
    .version(version())
    .option('--home <dir>', 'the qmta home directory (default: $QMTA_HOME, else ./qmta-home)')
    .exitOverride()
    .showHelpAfterError();
  const ctx = context(program);
  const name = commandName(argv);
  const wanted = table.find((e) => name !== undefined && e.names.includes(name));
  for (const entry of wanted ? [wanted] : table) await registerEntry(program, ctx, entry);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
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
