// SMTP reply parsing for the client side (RFC 5321 §4.2): bytes from the server in,
// complete replies out, in bounded memory.
//
// Interface: new ReplyParser(); feed(chunk) -> { replies, error? }; pending() bytes;
// replyText(reply) for reports.
// A reply is one or more lines `ddd-text` ending with a line `ddd text` (or `ddd`).
// Bounds and failures (the caller turns an error into a temporary "connection died"):
//   a line longer than MAX_LINE bytes            -> error 'reply line too long'
//   a reply of more than MAX_LINES lines          -> error 'reply too long'
//   a line not starting with three digits        -> error 'malformed reply'
// Text kept per reply: at most MAX_TEXT characters (qmail keeps 5000), CRs dropped,
// NUL shown as '?' (qmail's rules), bytes decoded as UTF-8 with replacement.

export const MAX_LINE = 4096;
export const MAX_LINES = 200;
export const MAX_TEXT = 5000;

export interface Reply {
  readonly code: number;
  /** The reply's lines as received (code included), within MAX_TEXT in total. */
  readonly lines: readonly string[];
}

export class ReplyParser {
  #partial: Buffer[] = [];
  #partialLen = 0;
  #lines: string[] = [];
  #textLen = 0;
  #lineCount = 0;

  /** Bytes of an unfinished line held back. */
  pending(): number {
    return this.#partialLen;
  }

  /** Consumes a chunk; returns the replies it completed, or the error that broke the stream. */
  feed(chunk: Buffer): { replies: Reply[]; error?: string } {
    const replies: Reply[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      const line = this.#joinLine(chunk.subarray(from, nl));
      from = nl + 1;
      if (line === undefined) return { replies, error: 'reply line too long' };
      const r = this.#takeLine(line);
      if (typeof r === 'string') return { replies, error: r };
      if (r) replies.push(r);
    }
    this.#partial.push(chunk.subarray(from));
    this.#partialLen += chunk.length - from;
    return this.#partialLen > MAX_LINE ? { replies, error: 'reply line too long' } : { replies };
  }

  #joinLine(tail: Buffer): string | undefined {
    const len = this.#partialLen + tail.length;
    if (len > MAX_LINE) return undefined;
    const bytes = this.#partialLen === 0 ? tail : Buffer.concat([...this.#partial, tail], len);
    this.#partial = [];
    this.#partialLen = 0;
    return bytes.toString('utf8').replace(/\r/g, '').replace(/\0/g, '?');
  }

  /** Adds a line to the reply being built; returns the reply when this line ends it. */
  #takeLine(line: string): Reply | string | undefined {
    if (!/^\d{3}([ -]|$)/.test(line)) return 'malformed reply';
    if (++this.#lineCount > MAX_LINES) return 'reply too long';
    const room = MAX_TEXT - this.#textLen;
    if (room > 0) {
      const kept = line.slice(0, room);
      this.#lines.push(kept);
      this.#textLen += kept.length;
    }
    if (line[3] === '-') return undefined;
    const reply = { code: Number(line.slice(0, 3)), lines: this.#lines };
    this.#lines = [];
    this.#textLen = 0;
    this.#lineCount = 0;
    return reply;
  }
}

/** The reply as qmail quotes it after "Remote host said:": lines joined by '/'. */
export function replyText(reply: Reply): string {
  return reply.lines.join(' / ');
}

/** The RFC 3463 status in the reply's text, when it agrees with the reply code's class. */
export function enhancedStatus(reply: Reply): string | undefined {
  const first = reply.lines[0]?.slice(4) ?? '';
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(first);
  return m && m[1] === String(reply.code)[0] ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}
