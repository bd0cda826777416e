// Splits a message on its way in: the header section is read into memory (bounded), the body
// is handed on chunk by chunk and never held whole.
//
// Interface: readHeaderSection(source, maxBytes) -> Outcome<HeaderSection>; then
// bodyChunks(section) yields the body (the separator line first) as Buffers.
// Header rules are qmail's headerbody: a line starting with a space or tab continues the
// field; a "From " line becomes "MBOX-Line: From ..."; a blank line ends the header; a line
// that cannot start a field ends the header too and starts the body (a blank line is put
// before it); end of input inside the header means no body at all.
// Departure from qmail: CR LF is read as LF in header and body (the queue keeps LF line ends,
// like the SMTP service), so a message written with CR LF does not get a doubled blank line.
// Failures: header section longer than maxBytes -> perm 5.3.4; a read error -> temp 4.3.0.
// Guarantees: memory is bounded by maxBytes plus one input chunk; the body ends with "\n"
// when it is not empty (qmail completes a last partial line).

import { ok, perm, temp, type Outcome } from '../outcome.js';
import { isValidField } from './fields.js';

export type HeaderEnd = 'blank' | 'body' | 'eof';

export interface HeaderSection {
  /** Header fields (latin1 text), each with its continuation lines, each ending in "\n". */
  readonly fields: string[];
  readonly end: HeaderEnd;
  /** The start of the body: the blank separator line and, when end is 'body', the first body line. */
  readonly bodyStart: Buffer;
  /** Where the rest of the body comes from. */
  readonly rest: LineReader;
}

const LF = 0x0a;
const CR = 0x0d;

/** Reads lines from a byte source, keeping at most one partial line plus one chunk. */
export class LineReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.source.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.pos = 0;
    return true;
  }

  /** The next line with its "\n" (a last partial line without it), undefined at the end, 'long' past limit bytes. */
  async line(limit: number): Promise<Buffer | undefined | 'long'> {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const nl = this.chunk.indexOf(LF, this.pos);
      const end = nl < 0 ? this.chunk.length : nl + 1;
      size += end - this.pos;
      if (size > limit) return 'long';
      parts.push(this.chunk.subarray(this.pos, end));
      this.pos = end;
      if (nl >= 0) return Buffer.concat(parts);
      if (!(await this.fill())) return size > 0 ? Buffer.concat(parts) : undefined;
    }
  }

  /** The remaining input as chunks: what is buffered, then the source. */
  async *chunks(): AsyncGenerator<Buffer> {
    if (this.pos < this.chunk.length) yield this.chunk.subarray(this.pos);
    this.pos = this.chunk.length;
    while (await this.fill()) yield this.chunk;
    this.pos = this.chunk.length;
  }
}

/** A header line as latin1 text ending in "\n" (CR LF read as LF; a partial line completed). */
function lineText(line: Buffer): string {
  let s = line.toString('latin1');
  if (s.endsWith('\r\n')) s = s.slice(0, -2) + '\n';
  else if (!s.endsWith('\n')) s += '\n';
  return s;
}

/** Reads the header section, bounded by maxBytes. */
export async function readHeaderSection(source: AsyncIterator<Uint8Array>, maxBytes: number): Promise<Outcome<HeaderSection>> {
  const reader = new LineReader(source);
  const fields: string[] = [];
  let field: string | undefined;
  let used = 0;
  const done = (end: HeaderEnd, bodyStart: string): Outcome<HeaderSection> => {
    if (field !== undefined) fields.push(field);
    return ok({ fields, end, bodyStart: Buffer.from(bodyStart, 'latin1'), rest: reader });
  };
  for (;;) {
    let raw: Buffer | undefined | 'long';
    try {
      raw = await reader.line(maxBytes - used);
    } catch (err) {
      return temp('4.3.0', `read error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (raw === 'long') return perm('5.3.4', `header section longer than ${maxBytes} bytes`);
    if (raw === undefined) return done('eof', '');
    used += raw.length;
    const line = lineText(raw);
    if (field !== undefined && (line[0] === ' ' || line[0] === '\t')) {
      field += line;
      continue;
    }
    if (field !== undefined) fields.push(field);
    field = undefined;
    if (line === '\n') return done('blank', '\n');
    if (line.startsWith('From ')) field = 'MBOX-Line: ' + line;
    else if (isValidField(line)) field = line;
    else return done('body', '\n' + line);
  }
}

/** Turns CR LF into LF across chunk boundaries and completes a last partial line. */
export async function* normalizeBody(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let heldCR = false;
  let last = LF;
  let any = false;
  for await (const input of source) {
    if (input.length === 0) continue;
    const chunk: Buffer = heldCR ? Buffer.concat([Buffer.from([CR]), input]) : input;
    heldCR = chunk[chunk.length - 1] === CR;
    const body = stripCR(heldCR ? chunk.subarray(0, -1) : chunk);
    if (body.length === 0) continue;
    any = true;
    last = body[body.length - 1] as number;
    yield body;
  }
  // A lone CR at the very end is taken as the end of the last line.
  if (heldCR || (any && last !== LF)) yield Buffer.from('\n');
}

function stripCR(buf: Buffer): Buffer {
  let at = buf.indexOf('\r\n');
  if (at < 0) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(buf.subarray(from, at));
    from = at + 1;
    at = buf.indexOf('\r\n', from);
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** The whole body: the part read with the header, then the rest of the input, normalized. */
export function bodyChunks(section: HeaderSection): AsyncGenerator<Buffer> {
  async function* all(): AsyncGenerator<Buffer> {
    if (section.bodyStart.length > 0) yield section.bodyStart;
    yield* section.rest.chunks();
  }
  return normalizeBody(all());
}
