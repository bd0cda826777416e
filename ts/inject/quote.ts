// Quoting of an address's local part, as qmail's quote2 does (only when needed), with RFC
// 6532's rule for UTF-8: a local part is written as it is when it is a dot-atom of RFC 5322
// §3.2.3 atext, which RFC 6532 §3.2 extends with every non-ASCII UTF-8 character; otherwise
// (empty, a special or control character, a leading, trailing or doubled dot) it is quoted.
// Departure from qmail: qmail quotes any 8-bit byte, so "jürgen.müller@example.com" became
// "\"jürgen.müller\"@example.com" in Return-Path; RFC 6532 makes that quoting wrong.
//
// Interface: quoteAddress(addr) -> text; needsQuote(localPart) -> boolean. Used for every
// written address: Return-Path (qmail-local's RPLINE, bounces, `qmta inject -n`), qmail-inject's
// generated fields, qreceipt.
// Strings are JS text (code points) or binary text (ts/inject/token822.ts: one char per byte);
// both work: a char past U+007F is atext in either, since binary text's 8-bit bytes are UTF-8
// wherever an address is accepted (fixup.ts refuses envelope addresses that are not).
// Failures: none. Guarantees: the domain (after the last "@") is never touched.

/** RFC 5322 atext plus "." and RFC 6532's UTF8-non-ascii (any code point past U+007F). */
const DOT_ATOM_TEXT = /^[!#$%&'*+\-./0-9=?A-Z^_`a-z{|}~\u{80}-\u{10ffff}]*$/u;

/** True when a local part cannot be written as a plain dot-atom. */
export function needsQuote(local: string): boolean {
  if (local === '' || !DOT_ATOM_TEXT.test(local)) return true;
  return local.startsWith('.') || local.endsWith('.') || local.includes('..');
}

function quoted(s: string): string {
  return `"${s.replace(/[\r\n"\\]/g, (c) => `\\${c}`)}"`;
}

/** Quotes the local part of "local@domain" (or a bare local part) when needed; '' stays ''. */
export function quoteAddress(addr: string): string {
  if (addr === '') return '';
  const at = addr.lastIndexOf('@');
  const local = at < 0 ? addr : addr.slice(0, at);
  const rest = at < 0 ? '' : addr.slice(at);
  return (needsQuote(local) ? quoted(local) : local) + rest;
}
