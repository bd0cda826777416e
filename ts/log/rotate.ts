// Log rotation for HOME/log/qmta.log: by size (control/logmaxbytes, checked every second)
// and on demand (SIGUSR1: reopen the path, for logrotate, which renames the file first).
//
// Interface: rotator(file, reopen, settings) -> { start(), stop(), rotateNow() }; reopen is
// the destination's own (SonicBoom's reopen(): lines buffered meanwhile go to the new file).
// Names: a size rotation renames the file to qmta.log.<UTC time as YYYYMMDDTHHMMSSZ> (with
// -N when that name exists), then reopens; `qmta stats` orders files by their first
// record, so any naming works. Only files of that form are pruned: at most `keep` of them
// stay (oldest removed first; 0 keeps all); logrotate's own files are its business.
// Failures: a failed stat, rename or removal is reported through `warn` and retried at the
// next check; logging goes on into the current file meanwhile.
// Guarantees: no line is lost or split by a rotation: the destination writes whole lines
// and the rename keeps its open descriptor valid until the reopen.

import { readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface RotateSettings {
  /** Bytes after which the file is rotated (0: never by size); read at every check (SIGHUP). */
  readonly maxBytes: () => number;
  /** Rotated files kept (0: all). */
  readonly keep: () => number;
  readonly checkMs?: number;
  readonly warn?: (text: string) => void;
}

export interface Rotator {
  start(): void;
  stop(): void;
  /** Renames the file aside and reopens (the size rule's action); the new name. */
  rotateNow(): string | undefined;
}

const STAMP = /^\d{8}T\d{6}Z(-\d+)?$/;

/** qmta.log.20261207T014751Z, or -N past every name of that second (even pruned ones'
 *  successors), so names always sort in rotation order. */
function rotatedName(file: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const prefix = `${basename(file)}.${stamp}`;
  let last = -1;
  for (const n of readdirSync(dirname(file))) {
    if (n === prefix) last = Math.max(last, 0);
    else if (n.startsWith(`${prefix}-`)) last = Math.max(last, Number(n.slice(prefix.length + 1)) || 0);
  }
  return last < 0 ? `${file}.${stamp}` : `${file}.${stamp}-${last + 1}`;
}

/** The size rule and pruning around a destination's reopen. */
export function rotator(file: string, reopen: () => void, s: RotateSettings): Rotator {
  let timer: NodeJS.Timeout | undefined;
  const warn = s.warn ?? (() => {});
  const prune = () => {
    const keep = s.keep();
    if (keep <= 0) return;
    const base = basename(file);
    const rotated = readdirSync(dirname(file))
      .filter((n) => n.startsWith(`${base}.`) && STAMP.test(n.slice(base.length + 1)))
      .sort(byStamp);
    for (const n of rotated.slice(0, Math.max(0, rotated.length - keep))) unlinkSync(join(dirname(file), n));
  };
  const api: Rotator = {
    start() {
      timer = setInterval(() => check(), s.checkMs ?? 1000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
    rotateNow() {
      try {
        const to = rotatedName(file, new Date());
        renameSync(file, to);
        reopen();
        prune();
        return to;
      } catch (err) {
        warn(`log rotation of ${file} failed: ${(err as Error).message}; will retry`);
        return undefined;
      }
    },
  };
  const check = () => {
    const max = s.maxBytes();
    if (max <= 0) return;
    try {
      if (statSync(file).size >= max) api.rotateNow();
    } catch (err) {
      warn(`log rotation cannot stat ${file}: ${(err as Error).message}`);
    }
  };
  return api;
}

/** Orders stamped names by time, then by their -N. */
function byStamp(a: string, b: string): number {
  const key = (n: string) => /(\d{8}T\d{6})Z(?:-(\d+))?$/.exec(n) ?? ['', '', '0'];
  const [, ta, na] = key(a);
  const [, tb, nb] = key(b);
  return ta! < tb! ? -1 : ta! > tb! ? 1 : Number(na ?? 0) - Number(nb ?? 0);
}
