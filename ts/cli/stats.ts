// `qmta stats [FILE...]`: qmailanalog's reports from qmta's JSON logs (ts/stats).
//
// Options: --json (the report as JSON), --html FILE (a self-contained page with charts),
// --since T / --until T (ISO 8601 time, or a duration back from now: 90m, 2h, 7d), --top N
// (rows per table, default 20). Without FILE it reads HOME/log/qmta.log and every rotated
// file beside it (gzip included) in time order; FILE '-' is standard input.
// Exit codes: 0; 100 no log, no qmta record in it, or a usage error; 111 the HTML file
// cannot be written.

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { perm } from '../outcome.js';
import { parseTime, runStats } from '../stats/run.js';
import type { CliContext } from './main.js';

interface Options {
  json?: boolean;
  html?: string;
  since?: string;
  until?: string;
  top: string;
}

/** Registers `qmta stats`. */
export function register(program: Command, ctx: CliContext): void {
  program.command('stats [files...]')
    .description('delivery statistics from the logs, as qmailanalog (FILE - is stdin; default: HOME/log/qmta.log* in time order)')
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'write a self-contained HTML page with charts')
    .option('--since <time>', 'only records at or after TIME (ISO 8601, or 90m, 2h, 7d before now)')
    .option('--until <time>', 'only records before TIME')
    .option('--top <n>', 'rows per table', '20')
    .action(async (files: string[], o: Options) => {
      const since = o.since === undefined ? undefined : parseTime(o.since);
      const until = o.until === undefined ? undefined : parseTime(o.until);
      const top = Number(o.top);
      if ((o.since !== undefined && since === undefined) || (o.until !== undefined && until === undefined) || !(Number.isInteger(top) && top > 0)) {
        process.exitCode = ctx.fail(perm('5.5.4', 'usage: --since/--until take an ISO time or a duration like 2h; --top a positive integer'));
        return;
      }
      const r = await runStats({
        home: ctx.home(), files: files.map((f) => (f === '-' ? f : resolve(f))), top,
        window: { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) },
        format: o.json ? 'json' : 'text', ...(o.html !== undefined ? { html: resolve(o.html) } : {}),
      });
      if (r.kind !== 'ok') {
        process.exitCode = ctx.fail(r);
        return;
      }
      process.stdout.write(r.value.output);
    });
}
