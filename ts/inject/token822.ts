// RFC 822 tokens, as qmail-inject sees a header field: tokenize, print back (folded), and
// flatten to a bare address.
//
// Interface: tokenize(text) -> Token[] | undefined; unparse(tokens, lineLength) -> text ending
// in "\n"; unquote(tokens) -> address text.
// Strings are "binary" (latin1: one char per byte) so 8-bit header bytes survive unchanged;
// binary(text) and fromBinary(bin) convert JS text to and from that form through UTF-8.
// Failures: tokenize returns undefined for an unbalanced ")" or "]", an unterminated comment,
// quoted string or domain literal, or a backslash at the very end of one of those; callers
// decide whether that is fatal (qmail-inject: exit 100 for sender-type fields, "leave the field
// alone" for recipient fields).
// Guarantees: linear in the input; behaviour matches qmail's token822 (nested comment
// parentheses are dropped, an atom with control, ")", "]" or "\" bytes prints quoted, lists
// fold after a comma once a line would pass the length), except that an atom whose 8-bit
// bytes are UTF-8 stays an atom (RFC 6532 §3.2: UTF-8 characters are atext; qmail quoted any
// 8-bit atom); other 8-bit bytes (Latin-1 text) are still quoted, as qmail does.

export type TokenType =
  | 'atom' | 'quote' | 'literal' | 'comment'
  | 'comma' | 'at' | 'dot' | 'left' | 'right' | 'colon' | 'semi';

export interface Token {
  readonly type: TokenType;
  /** Decoded content for atom/quote/literal/comment; '' for the specials. */
  readonly text: string;
}

const SPECIAL: Readonly<Record<string, TokenType>> = {
  '.': 'dot', ',': 'comma', '@': 'at', '<': 'left', '>': 'right', ':': 'colon', ';': 'semi',
};
const SPECIAL_TEXT: Readonly<Partial<Record<TokenType, string>>> = {
  dot: '.', comma: ',', at: '@', left: '<', right: '>', colon: ':', semi: ';',
};
const WORD_TYPES: ReadonlySet<TokenType> = new Set<TokenType>(['atom', 'literal', 'quote', 'comment']);

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JS text as binary text: its UTF-8 bytes, one char each. */
export function binary(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Binary text back to JS text; undefined when its bytes are not UTF-8. */
export function fromBinary(bin: string): string | undefined {
  try {
    return UTF8.decode(Buffer.from(bin, 'latin1'));
  } catch {
    return undefined;
  }
}

/** A token with no text: one of the special characters. */
export function special(type: TokenType): Token {
  return { type, text: '' };
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** Characters that end an atom. */
function atomOk(ch: string): boolean {
  return !(isSpace(ch) || '([" <>;:@,.'.includes(ch));
}

/** Reads "(...)", '"..."' or "[...]" starting at s[start]; nested "(" only change the level. */
function readDelimited(s: string, start: number, close: string): { text: string; end: number } | undefined {
  const nests = close === ')';
  let level = 1;
  let i = start;
  let text = '';
  while (level > 0) {
    if (++i >= s.length) return undefined;
    const ch = s[i] as string;
    if (nests && ch === '(') level++;
    else if (ch === close) level--;
    else if (ch === '\\') {
      if (++i >= s.length) return undefined;
      text += s[i];
    } else text += ch;
  }
  return { text, end: i + 1 };
}

/** Reads an atom starting at s[start]; a backslash escapes the next byte. */
function readAtom(s: string, start: number): { token: Token; end: number } {
  let i = start;
  let text = '';
  do {
    if (s[i] === '\\' && ++i >= s.length) break;
    text += s[i];
    if (++i >= s.length) break;
  } while (atomOk(s[i] as string));
  // qmail's atomcheck: such an atom can only be printed back as a quoted string.
  const needsQuote = /[\x00-\x1f\x7f)\]\\]/.test(text) || (/[\x80-\xff]/.test(text) && fromBinary(text) === undefined);
  return { token: { type: needsQuote ? 'quote' : 'atom', text }, end: i };
}

/** Splits header text into RFC 822 tokens; undefined when it does not lex. */
export function tokenize(s: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i] as string;
    const sp = SPECIAL[ch];
    if (sp !== undefined) {
      out.push(special(sp));
      i++;
    } else if (isSpace(ch)) {
      i++;
    } else if (ch === ')' || ch === ']') {
      return undefined;
    } else if (ch === '(' || ch === '"' || ch === '[') {
      const close = ch === '(' ? ')' : ch === '"' ? '"' : ']';
      const r = readDelimited(s, i, close);
      if (r === undefined) return undefined;
      out.push({ type: ch === '(' ? 'comment' : ch === '"' ? 'quote' : 'literal', text: r.text });
      i = r.end;
    } else {
      const r = readAtom(s, i);
      out.push(r.token);
      i = r.end;
    }
  }
  return out;
}

function needSpace(prev: TokenType | undefined, next: TokenType): boolean {
  if (prev === undefined) return false;
  if (prev === 'colon' || prev === 'comma' || next === 'left') return true;
  return WORD_TYPES.has(prev) && WORD_TYPES.has(next);
}

function escapeText(text: string): string {
  return text.replace(/["[\]()\\\r\n]/g, (c) => `\\${c}`);
}

function printToken(t: Token): string {
  switch (t.type) {
    case 'atom': return escapeText(t.text);
    case 'quote': return `"${escapeText(t.text)}"`;
    case 'literal': return `[${escapeText(t.text)}]`;
    case 'comment': return `(${escapeText(t.text)})`;
    case 'comma': case 'at': case 'dot': case 'left': case 'right': case 'colon': case 'semi':
      return SPECIAL_TEXT[t.type] as string;
  }
}

/**
 * Folds like qmail's token822_unparse: after each comma there is a candidate line break; it is
 * kept only when joining the text up to the next comma would make a line longer than lineLength
 * (measured with the two bytes of the candidate break still counted, as qmail does).
 */
class Folder {
  private readonly lines: string[] = [];
  private head = '';
  private tail = '';
  private hasBreak = false;
  constructor(private readonly lineLength: number) {}

  write(text: string): void {
    if (this.hasBreak) this.tail += text;
    else this.head += text;
  }

  breakCandidate(): void {
    if (!this.hasBreak) {
      this.hasBreak = true;
    } else if (this.lineLength === 0 || this.head.length + 2 + this.tail.length <= this.lineLength) {
      this.head += this.tail;
    } else {
      this.lines.push(this.head);
      this.head = ' ' + this.tail;
    }
    this.tail = '';
  }

  finish(): string {
    this.breakCandidate();
    this.lines.push(this.head);
    return this.lines.join('\n') + '\n';
  }
}

/** Prints tokens back as header text, folded after commas at lineLength, ending in "\n". */
export function unparse(tokens: readonly Token[], lineLength: number): string {
  const f = new Folder(lineLength);
  let prev: TokenType | undefined;
  for (const t of tokens) {
    if (needSpace(prev, t.type)) f.write(' ');
    prev = t.type;
    f.write(printToken(t));
    if (t.type === 'comma') f.breakCandidate();
  }
  return f.finish();
}

/** The bare address text: words unquoted, literals bracketed, comments dropped. */
export function unquote(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) {
    if (t.type === 'literal') s += `[${t.text}]`;
    else if (t.type === 'atom' || t.type === 'quote') s += t.text;
    else if (t.type !== 'comment') s += SPECIAL_TEXT[t.type] as string;
  }
  return s;
}
