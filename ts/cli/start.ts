// `qmta start`: runs the daemon on the home (ts/daemon). Logs go to HOME/log/qmta.log;
// --stdout also prints them. Exit codes: 0 after SIGTERM/SIGINT, 111 when it cannot start.
//
// The listener flags take the place of the control files of the same meaning for this
// run (each repeatable): --smtp = control/smtplisten, --submission = submissionlisten,
// --smtps = smtpslisten, --pop3 = pop3listen, --pop3s = pop3slisten. A production site
// listens on port 25 by writing control/smtplisten, never by surprise.
// Before anything else the command re-executes itself with the daemon's V8 heap flag
// (heap.ts); the daemon's modules are imported after that, once.

import type { Command } from 'commander';
import type { ControlOverrides } from '../config/index.js';
import { withHeapCap } from './heap.js';
import type { CliContext } from './main.js';

const LISTENERS = {
  smtp: 'smtplisten',
  submission: 'submissionlisten',
  smtps: 'smtpslisten',
  pop3: 'pop3listen',
  pop3s: 'pop3slisten',
} as const;

type ListenerFlag = keyof typeof LISTENERS;
type StartOptions = { stdout?: boolean } & Partial<Record<ListenerFlag, string[]>>;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Control overrides for the listener flags that were given. */
export function listenerOverrides(opts: StartOptions): ControlOverrides {
  const control: Record<string, string[]> = {};
  for (const [flag, file] of Object.entries(LISTENERS) as [ListenerFlag, string][]) {
    const values = opts[flag];
    if (values && values.length > 0) control[file] = values;
  }
  return control;
}

/** Registers `qmta start`. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('start')
    .description('run qmta: the delivery engine and the listeners (creates a default home when missing)')
    .option('--stdout', 'also write the log to stdout');
  for (const [flag, file] of Object.entries(LISTENERS)) {
    cmd.option(`--${flag} <addr:port>`, `listen for ${flag.toUpperCase()} here, repeatable (else control/${file})`, collect);
  }
  cmd.action(async (opts: StartOptions) => {
    withHeapCap();
    const { runDaemon } = await import('../daemon/index.js');
    const control = listenerOverrides(opts);
    process.exitCode = await runDaemon({ home: ctx.home(), stdout: opts.stdout === true, engine: { control } });
  });
}
