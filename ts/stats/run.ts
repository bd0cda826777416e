// `qmta stats` end to end: pick the sources, stream them through a Tally with a progress
// bar, and print the text report, the JSON report, or write the HTML page.
//
// Interface: runStats(opts) -> Outcome<StatsRun>; parseTime(text, now) -> ms | undefined.
// Failures: no log file, or no qmta record in what was read (empty, missing, or all of it
// corrupt/foreign) -> perm 5.3.0 (exit 100) with the count of what was skipped; the HTML
// file cannot be written -> temp 4.3.0.

import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fromException, ok, perm, type Outcome } from '../outcome.js';
import { formatReport } from './format.js';
import { reportHtml } from './html.js';
import { createProgress } from './progress.js';
import { buildReport, type Report } from './report.js';
import { logFiles, readLines, type Source } from './sources.js';
import { Tally, type Window } from './tally.js';

export interface StatsOptions {
  readonly home: string;
  /** Files to read ('-' = standard input); none = the home's logs. */
  readonly files: readonly Source[];
  readonly window: Window;
  readonly top: number;
  readonly format: 'text' | 'json';
  readonly html?: string;
  readonly stdin?: Readable;
  readonly stderr?: NodeJS.WriteStream;
}

export interface StatsRun {
  readonly report: Report;
  /** What to print on standard output. */
  readonly output: string;
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

/** A time: ISO 8601 (or anything Date.parse takes), or a duration before `now` (90m, 2h, 7d). */
export function parseTime(text: string, now = Date.now()): number | undefined {
  const rel = /^(\d+)([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

function sizeOf(sources: readonly Source[]): number {
  let n = 0;
  for (const s of sources) {
    if (s === '-') return 0;
    try {
      n += statSync(s).size;
    } catch {
      // Reported as unreadable when read.
    }
  }
  return n;
}

/** Reads the logs and builds the report and its output. */
export async function runStats(opts: StatsOptions): Promise<Outcome<StatsRun>> {
  const logDir = join(opts.home, 'log');
  const sources = opts.files.length > 0 ? opts.files : await logFiles(logDir);
  if (sources.length === 0) return perm('5.3.0', `no log files in ${logDir}: nothing to report`);
  const tally = new Tally(opts.window);
  const progress = createProgress(sizeOf(sources), opts.stderr);
  const read = await readLines(sources, (l) => tally.line(l), (n) => progress.add(n), opts.stdin);
  progress.done();
  const report = buildReport(tally, read, opts.top);
  if (tally.records === 0) {
    const why = read.unreadable.map((u) => `; ${u.source}: ${u.reason}`).join('');
    return perm('5.3.0', `no qmta log records in ${sources.join(', ')} (${tally.lines} lines: ${tally.corrupt} corrupt, ${tally.foreign} foreign${why})`);
  }
  if (opts.html !== undefined) {
    try {
      await writeFile(opts.html, reportHtml(report));
    } catch (err) {
      return fromException(err);
    }
  }
  const output = opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : opts.html !== undefined ? '' : formatReport(report);
  return ok({ report, output });
}
