// `qmta qshape [local|remote|all]`: Postfix qshape's view of the queue (ts/qshape): rows are
// recipient domains (or sender domains with -s), columns geometric age buckets in minutes.
//
// Options: -t MIN (first bucket, default 5), -b N (buckets, default 10), --top N (rows,
// default 20), -s (sender domains), --json. The channel defaults to remote.
// Exit codes: 0; 100 a usage error; 111 the queue cannot be opened.

import { join } from 'node:path';
import type { Command } from 'commander';
import { perm } from '../outcome.js';
import { census, geometricEdges } from '../qshape/census.js';
import { formatShape, shapeJson } from '../qshape/format.js';
import { openQueue } from '../queue/index.js';
import type { Channel } from '../queue/types.js';
import type { CliContext } from './main.js';

const CHANNELS: Record<string, readonly Channel[]> = { local: ['local'], remote: ['remote'], all: ['local', 'remote'] };

interface Options { t: string; b: string; top: string; s?: boolean; json?: boolean }

const positive = (s: string, max: number) => /^\d+$/.test(s) && Number(s) > 0 && Number(s) <= max;

/** Registers `qmta qshape`. */
export function register(program: Command, ctx: CliContext): void {
  program.command('qshape [channel]')
    .description('the queue by domain and age, as Postfix qshape (channel: local, remote (default) or all)')
    .option('-t <minutes>', 'upper edge of the first age bucket, in minutes', '5')
    .option('-b <buckets>', 'number of age buckets (each twice the one before)', '10')
    .option('--top <n>', 'domains shown', '20')
    .option('-s', 'rows by sender domain instead of recipient domain')
    .option('--json', 'print the table as JSON')
    .action((channel: string | undefined, o: Options) => {
      const channels = CHANNELS[channel ?? 'remote'];
      if (!channels || !positive(o.t, 1e6) || !positive(o.b, 40) || !positive(o.top, 1e6)) {
        process.exitCode = ctx.fail(perm('5.5.4', 'usage: qmta qshape [local|remote|all] [-t minutes] [-b 1..40] [--top n] [-s] [--json]'));
        return;
      }
      const q = openQueue(join(ctx.home(), 'queue'));
      if (q.kind !== 'ok') {
        process.exitCode = ctx.fail(q);
        return;
      }
      const shape = census(q.value, { channels, edgesMin: geometricEdges(Number(o.t), Number(o.b)), bySender: o.s === true });
      const top = Number(o.top);
      process.stdout.write(o.json ? `${JSON.stringify(shapeJson(shape, top), null, 2)}\n` : formatShape(shape, top));
    });
}
