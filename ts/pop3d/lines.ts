// Splits a POP3 client's byte stream into command lines, in bounded memory.
//
// Interface: new LineSplitter(max).push(chunk) -> Line[]; Line is a string (the command
// without its CR LF, decoded as latin1 so every byte survives) or TOO_LONG.
// Limits: RFC 2449 §4 caps a command line at 255 octets including CR LF. A longer line
// yields one TOO_LONG when its end arrives, and its bytes are dropped as they come, so
// a client that never sends LF costs at most `max` bytes of memory.
// Guarantees: a bare LF ends a line as CR LF does (qmail-popup accepts both); a line
// split across chunks is reassembled; nothing is lost between two push() calls.

export const TOO_LONG = Symbol('line too long');
export type Line = string | typeof TOO_LONG;

/** RFC 2449 §4: 255 octets including the terminating CR LF. */
export const MAX_COMMAND_LINE = 255;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private discarding = false;

  constructor(private readonly max = MAX_COMMAND_LINE) {}

  /** Feeds bytes; returns the lines completed by them, in order. */
  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let start = 0;
    for (let lf = chunk.indexOf(10, start); lf >= 0; lf = chunk.indexOf(10, start)) {
      lines.push(this.complete(chunk.subarray(start, lf + 1)));
      start = lf + 1;
    }
    this.keep(chunk.subarray(start));
    return lines;
  }

  /** Drops whatever was buffered (STLS: bytes before the handshake must not count). */
  /** The bytes of a line not yet complete (handed on with the connection, conn.ts relay). */
  rest(): Buffer {
    return Buffer.concat(this.pending);
  }

  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.discarding = false;
  }

  private complete(tail: Buffer): Line {
    const tooLong = this.discarding || this.pendingLength + tail.length > this.max;
    const parts = this.pending;
    const length = this.pendingLength;
    this.reset();
    if (tooLong) return TOO_LONG;
    const line = Buffer.concat([...parts, tail], length + tail.length);
    const end = line.length >= 2 && line[line.length - 2] === 13 ? line.length - 2 : line.length - 1;
    return line.toString('latin1', 0, end);
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0 || this.discarding) return;
    if (this.pendingLength + rest.length > this.max) {
      this.pending = [];
      this.pendingLength = 0;
      this.discarding = true;
      return;
    }
    this.pending.push(Buffer.from(rest));
    this.pendingLength += rest.length;
  }
}
