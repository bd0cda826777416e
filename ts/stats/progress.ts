// A progress bar on standard error for long `qmta stats` runs: only when stderr is a
// terminal, only after the run has lasted a second, at most five redraws a second, erased
// at the end. Piped or redirected runs print nothing extra.
//
// Interface: createProgress(totalBytes, stream, now) -> { add(n), done() }.

import type { WriteStream } from 'node:tty';

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

const quiet: Progress = { add() {}, done() {} };

/** A bar over `total` bytes (0: unknown, e.g. standard input: a byte count instead). */
export function createProgress(total: number, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  if (!(stream as WriteStream).isTTY) return quiet;
  const started = now();
  let seen = 0;
  let drawn = 0;
  let shown = false;
  const draw = () => {
    const width = Math.max(10, Math.min(50, ((stream as WriteStream).columns ?? 80) - 30));
    const mb = (seen / 2 ** 20).toFixed(0);
    if (total <= 0) return stream.write(`\rqmta stats: ${mb} MiB read`);
    const f = Math.min(1, seen / total);
    const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
    return stream.write(`\rqmta stats: [${bar}] ${(f * 100).toFixed(0).padStart(3)}% ${mb} MiB`);
  };
  return {
    add(n) {
      seen += n;
      const t = now();
      if (t - started < 1000 || t - drawn < 200) return;
      drawn = t;
      shown = true;
      draw();
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
