// qmail-local's reading of a .qmail file's lines (qmail.md §5.4) into delivery instructions.
//
// Interface: parseDotQmail(text, home, forwardOnly) -> Outcome<{ instructions, forwardOnly }>.
// Lines split on LF, trailing spaces/tabs stripped; first character decides: # comment;
// empty (ignored, but a blank FIRST line is an error); | program; / or . file (maildir when
// the last character is /, else mbox; relative to home); & forward; +list sets forward-only
// for the lines after it (other + lines ignored); anything else forwards to the whole line.
// Failures: blank first line -> temp 4.2.1; a file or program line while forward-only
// (x bit on the .qmail file, or after +list) -> temp 4.7.0.
// Departure: qmail-local fails at the offending line after executing the lines before it
// (repeated on every retry); the whole file is checked here first, so nothing is delivered
// twice. An `&` line with nothing after it is dropped (qmail would queue an empty
// recipient, which ends as a trash address).

import { isAbsolute, join } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';

export type Instruction =
  | { readonly kind: 'maildir'; readonly path: string }
  | { readonly kind: 'mbox'; readonly path: string }
  | { readonly kind: 'program'; readonly command: string }
  | { readonly kind: 'forward'; readonly address: string };

export interface ParsedDotQmail {
  readonly instructions: readonly Instruction[];
  readonly forwardOnly: boolean;
}

/** Turns .qmail text into instructions, in file order. */
export function parseDotQmail(text: string, home: string, forwardOnly: boolean): Outcome<ParsedDotQmail> {
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const out: Instruction[] = [];
  let fwdOnly = forwardOnly;
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/[ \t]+$/, '');
    const r = instructionOf(line, home, fwdOnly);
    if (r === 'blank') {
      if (i === 0) return temp('4.2.1', 'Uh-oh: first line of .qmail file is blank.');
    } else if (r === 'list') {
      fwdOnly = true;
    } else if (r !== 'skip') {
      if (r.kind !== 'ok') return r;
      out.push(r.value);
    }
  }
  return ok({ instructions: out, forwardOnly: fwdOnly });
}

type LineResult = 'blank' | 'skip' | 'list' | Outcome<Instruction>;

function instructionOf(line: string, home: string, forwardOnly: boolean): LineResult {
  switch (line[0]) {
    case undefined:
      return 'blank';
    case '#':
      return 'skip';
    case '+':
      return line === '+list' ? 'list' : 'skip';
    case '.':
    case '/':
      if (forwardOnly) return temp('4.7.0', 'Uh-oh: .qmail has file delivery but has x bit set.');
      return ok({ kind: line.endsWith('/') ? 'maildir' : 'mbox', path: isAbsolute(line) ? line : join(home, line) });
    case '|':
      if (forwardOnly) return temp('4.7.0', 'Uh-oh: .qmail has prog delivery but has x bit set.');
      return ok({ kind: 'program', command: line.slice(1) });
    case '&':
      return line.length === 1 ? 'skip' : ok({ kind: 'forward', address: line.slice(1) });
    default:
      return ok({ kind: 'forward', address: line });
  }
}
