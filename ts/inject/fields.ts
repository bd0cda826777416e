// Header field names as qmail-inject classifies them (qmail's hfield): which known field a
// line starts, and whether a line can start a header field at all.
//
// Interface: fieldName(line) -> KnownField | undefined; isValidField(line) -> boolean.
// Failures: none (pure predicates). Guarantees: a name matches case-insensitively and may be
// followed by spaces or tabs before the colon, as in qmail; a valid name is non-empty printable
// US-ASCII with no space, so a line whose name has 8-bit bytes is not a header field.

export const KNOWN_FIELDS = [
  'sender', 'from', 'reply-to', 'to', 'cc', 'bcc', 'date', 'message-id', 'subject',
  'resent-sender', 'resent-from', 'resent-reply-to', 'resent-to', 'resent-cc', 'resent-bcc',
  'resent-date', 'resent-message-id', 'return-receipt-to', 'errors-to', 'apparently-to',
  'received', 'return-path', 'delivered-to', 'content-length', 'content-type',
  'content-transfer-encoding', 'notice-requested-upon-delivery-to', 'mail-followup-to',
] as const;

export type KnownField = (typeof KNOWN_FIELDS)[number];

const KNOWN: ReadonlySet<string> = new Set(KNOWN_FIELDS);

/** The known field a header line starts, if any ("To :" counts, "To-X:" does not). */
export function fieldName(line: string): KnownField | undefined {
  const m = /^([^:\s]+)[ \t]*:/.exec(line);
  const name = m?.[1]?.toLowerCase();
  return name !== undefined && KNOWN.has(name) ? (name as KnownField) : undefined;
}

/** True when the line starts a header field: a printable name, optional blanks, a colon. */
export function isValidField(line: string): boolean {
  const colon = line.indexOf(':');
  if (colon < 0) return false;
  const name = line.slice(0, colon).replace(/[ \t]+$/, '');
  return /^[\x21-\x7e]+$/.test(name);
}
