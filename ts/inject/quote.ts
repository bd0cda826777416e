// Quoting of an envelope address's local part for RFC 821/822 text, as qmail's quote2: quote
// only when needed (empty, specials, 8-bit bytes, a leading, trailing or doubled dot).
//
// Interface: quoteAddress(addr) -> text; needsQuote(localPart) -> boolean.
// Failures: none. Guarantees: the domain (after the last "@") is never touched.

/** RFC 822 atext plus ".", as in qmail's quote.c table. */
const ATOM_BYTE = /^[!#$%&'*+\-./0-9=?A-Z^_`a-z{|}~]*$/;

/** True when a local part cannot be written as a plain dot-atom. */
export function needsQuote(local: string): boolean {
  if (local === '' || !ATOM_BYTE.test(local)) return true;
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
