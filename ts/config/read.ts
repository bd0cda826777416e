// Reading control/ files the way qmail's control.c reads them.
//
// Interface: readControl(home, name) -> Outcome<string[] | undefined>: the file's lines
// (undefined when the file does not exist). Line-level rules live in the extractors:
// firstLine (single-value files: first line, trailing spaces/tabs/CR stripped),
// leadingInt (integer files: leading decimal digits of the first line, none -> default),
// listLines (list files: every line trailing-stripped, blank lines and # comments dropped).
//
// Failures: a file that exists but cannot be read (EACCES, EISDIR, EIO...) -> temp 4.3.0
// "unable to read controls", as qmail-smtpd's 421; a file over MAX_CONTROL_BYTES -> temp
// 4.3.5 (a misconfiguration the admin fixes; no unbounded read).
// Guarantee: a missing file is never an error; it means "use the default".

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';

/** Upper bound on one control file; morercpthosts-sized lists fit with room to spare. */
export const MAX_CONTROL_BYTES = 16 * 1024 * 1024;

/** The lines of control/NAME, or undefined when it does not exist. */
export async function readControl(home: string, name: string): Promise<Outcome<string[] | undefined>> {
  const path = join(home, 'control', name);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ok(undefined);
    return unreadable(name, err);
  }
  try {
    const st = await fh.stat();
    if (st.size > MAX_CONTROL_BYTES) {
      return temp('4.3.5', `control/${name} is larger than ${MAX_CONTROL_BYTES} bytes`);
    }
    const text = await fh.readFile({ encoding: 'utf8' });
    return ok(splitLines(text));
  } catch (err) {
    return unreadable(name, err);
  } finally {
    await fh.close();
  }
}

function unreadable(name: string, err: unknown): Outcome<never> {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return temp('4.3.0', `unable to read controls: control/${name}: ${code}`);
}

/** Splits file text into lines; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** qmail strips trailing spaces and tabs; CR is stripped too so DOS-edited files work. */
export function stripTrailing(line: string): string {
  return line.replace(/[ \t\r]+$/, '');
}

/** Single-value files: the first line only. An empty file gives "". */
export function firstLine(lines: readonly string[]): string {
  return stripTrailing(lines[0] ?? '');
}

/** Integer files: the first line's leading decimal digits; undefined when there are none. */
export function leadingInt(lines: readonly string[]): bigint | undefined {
  const m = /^\d+/.exec(firstLine(lines));
  return m ? BigInt(m[0]) : undefined;
}

/** A list entry with the 1-based line it came from, for error messages. */
export interface ListLine {
  readonly text: string;
  readonly line: number;
}

/** List files: every line, trailing-stripped; blank lines and lines starting with # dropped. */
export function listLines(lines: readonly string[]): ListLine[] {
  const out: ListLine[] = [];
  lines.forEach((raw, i) => {
    const text = stripTrailing(raw);
    if (text !== '' && !text.startsWith('#')) out.push({ text, line: i + 1 });
  });
  return out;
}
