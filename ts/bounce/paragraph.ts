// A QSBMF failure paragraph (qmail.md §7.2), as qmail-send appends it to queue/bounce.
//
// Interface: failureParagraph(address, report) -> "<address>:\n" + report lines + "\n".
// Guarantees: the paragraph has no blank line inside (an empty report line becomes "/"),
// ends with exactly one empty line, and the address has no LF (LF -> "_"), so a QSBMF
// parser splitting on blank lines sees one paragraph per failed recipient.

/** qmail-send's addbounce: `<addr>:` LF, the report with inner blank lines as `/`, LF. */
export function failureParagraph(address: string, report: string): string {
  const addr = address.replace(/\n/g, '_');
  const text = report.endsWith('\n') ? report.slice(0, -1) : report;
  const lines = text.split('\n').map((l) => (l === '' ? '/' : l));
  return `<${addr}>:\n${lines.join('\n')}\n\n`;
}
