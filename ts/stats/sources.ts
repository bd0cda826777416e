// Where `qmta stats` reads: the home's log files (the current one and every rotated one,
// gzip included) in time order, given files, or standard input; each streamed line by line.
//
// Interface: logFiles(dir) -> the log files of a log folder, oldest first; readLines(sources,
// onLine, onBytes) -> Promise<ReadSummary>.
// Order: rotated names differ by scheme (qmta's qmta.log.<UTC time>, logrotate's .1/.2.gz or
// -YYYYMMDD), so files are ordered by the time of their first record, not by name (a file
// without one by its mtime).
// Failures: a file that cannot be opened or a gzip stream that is damaged or cut short ->
// counted in `unreadable` with the reason, the lines read before it still count, the next
// file is read. A line longer than MAX_LINE is dropped and counted in `overlong`.
// Guarantees: memory O(MAX_LINE + one read chunk) whatever the file size.

import { createReadStream, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, gunzipSync } from 'node:zlib';

export const MAX_LINE = 1 << 20;
const CHUNK = 1 << 20;
const NAME = /^qmta\.log([.-].+)?$/;

export interface ReadSummary {
  /** Sources that failed, with why (the lines before the failure were read). */
  readonly unreadable: { readonly source: string; readonly reason: string }[];
  overlong: number;
}

/** A file path, or '-' for standard input. */
export type Source = string;

/** The log files of a log folder (qmta.log and its rotations), oldest first. */
export async function logFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => NAME.test(n));
  } catch {
    return [];
  }
  const dated = await Promise.all(names.map(async (n) => {
    const path = join(dir, n);
    return { path, t: (await firstTime(path)) ?? mtime(path) };
  }));
  return dated.sort((a, b) => a.t - b.t || (a.path < b.path ? -1 : 1)).map((d) => d.path);
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** The time of the file's first record, from its first 64 KiB (decompressed when gzip). */
async function firstTime(path: string): Promise<number | undefined> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(65536), 0, 65536, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    if (isGzip(head)) head = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a cut stream is fine */ });
  } catch {
    return undefined;
  }
  for (const line of head.toString('utf8').split('\n')) {
    try {
      const t = (JSON.parse(line) as { time?: unknown }).time;
      if (typeof t === 'number') return t;
    } catch {
      // Not a record: try the next line.
    }
  }
  return undefined;
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Streams every line of every source in order; onBytes gets raw bytes read (progress). */
export async function readLines(
  sources: readonly Source[],
  onLine: (line: string) => void,
  onBytes: (n: number) => void = () => {},
  stdin: Readable = process.stdin,
): Promise<ReadSummary> {
  const summary: ReadSummary = { unreadable: [], overlong: 0 };
  for (const source of sources) {
    try {
      await readOne(source === '-' ? stdin : createReadStream(source, { highWaterMark: CHUNK }), onLine, onBytes, summary);
    } catch (err) {
      summary.unreadable.push({ source: source === '-' ? 'standard input' : source, reason: (err as Error).message });
    }
  }
  return summary;
}

/** Splits one byte stream (gunzipped when it starts with the gzip magic) into lines. */
async function readOne(raw: Readable, onLine: (line: string) => void, onBytes: (n: number) => void, summary: ReadSummary): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let skipping = false;
  const feed = (text: string): void => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = rest.length > 0 ? rest + text.slice(start, nl) : text.slice(start, nl);
      rest = '';
      if (skipping) skipping = false;
      else if (line.length > MAX_LINE) summary.overlong++;
      else if (line.length > 0) onLine(line);
      start = nl + 1;
    }
    if (skipping) return;
    rest += text.slice(start);
    if (rest.length > MAX_LINE) {
      summary.overlong++;
      rest = '';
      skipping = true;
    }
  };
  const stream = await maybeGunzip(raw, onBytes);
  for await (const chunk of stream) feed(decoder.write(chunk as Buffer));
  feed(decoder.end());
  // A last line without its LF (the writer was cut off) is still read; a truncated record
  // fails JSON.parse and is counted as corrupt.
  if (rest.length > 0 && !skipping) onLine(rest);

}

/** The stream itself, or its gunzipped form when its first bytes are the gzip magic. */
async function maybeGunzip(raw: Readable, onBytes: (n: number) => void): Promise<AsyncIterable<unknown>> {
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return (async function* () {})();
  async function* chain(): AsyncGenerator<Buffer> {
    for (let n = first; !n.done; n = await it.next()) {
      onBytes(n.value.length);
      yield n.value;
    }
  }
  return isGzip(first.value) ? pipeline(chain(), createGunzip(), () => {}) : chain();
}
