// Delivery report text, as qmail-lspawn bounds it (qmail.md §5.1).
//
// Interface: OutputBuffer collects a child's output up to REPORT_LIMIT bytes (the rest is
// drained and counted, never kept); truncateReport(text) applies the same cap to any text.
// Guarantee: a report is at most REPORT_LIMIT bytes plus qmail's note.

export const REPORT_LIMIT = 3000;
export const TOO_LONG = 'Error report too long, sorry.';

/** Bounded capture of a program's stdout+stderr, in arrival order. */
export class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    const room = REPORT_LIMIT - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  /** The captured text, with qmail's note when something was cut. */
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${s}\n${TOO_LONG}` : s;
  }
}

/** Caps a report at REPORT_LIMIT bytes with qmail's note. */
export function truncateReport(text: string): string {
  const b = Buffer.from(text);
  if (b.length <= REPORT_LIMIT) return text;
  return `${b.subarray(0, REPORT_LIMIT).toString('utf8')}\n${TOO_LONG}`;
}
