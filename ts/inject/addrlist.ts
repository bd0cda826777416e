// RFC 822 address lists, qmail's way: parsed from right to left, each address handed to a
// rewriting callback, the field rebuilt around the rewritten addresses.
//
// Interface: rewriteAddressList(tokens, rewrite) -> Token[] | undefined. tokens is a whole field
// ("Name", ":", value...); the first two tokens are kept as they are.
// Failures: undefined when the value is not an address list (":" outside a group, nested
// groups, "<" missing); callers decide whether that is fatal.
// Guarantees: words not separated by "@", "." or "," count as separate addresses, so an
// old-style list "a@x b@y" comes back as "a@x, b@y"; an empty "<>" is still an address (the
// callback sees []); display names, comments and group names are kept in place.
// Constraint shared with complete.ts: the callback gets and returns tokens in reading order
// (qmail hands its callbacks reversed lists; the reversal is undone here).

import { special, type Token, type TokenType } from './token822.js';

export type AddressRewrite = (address: readonly Token[]) => readonly Token[];

const PHRASE: ReadonlySet<TokenType> = new Set<TokenType>(['comment', 'atom', 'quote', 'at', 'dot']);

/** Right-to-left scanner state. */
class Scan {
  /** Output, reversed. */
  readonly out: Token[] = [];
  /** The address being collected, reversed. */
  addr: Token[] = [];
  t: number;
  constructor(readonly tokens: readonly Token[], readonly rewrite: AddressRewrite) {
    this.t = tokens.length - 1;
  }

  get more(): boolean {
    return this.t >= 2;
  }
  get current(): Token {
    return this.tokens[this.t] as Token;
  }
  outLeft(): void {
    this.out.push(this.tokens[this.t--] as Token);
  }
  addrLeft(): void {
    this.addr.push(this.tokens[this.t--] as Token);
  }
  /** Hands the collected address (even an empty one) to the callback and emits the result. */
  gotAddress(): void {
    const rewritten = this.rewrite(this.addr.reverse());
    for (let i = rewritten.length - 1; i >= 0; i--) this.out.push(rewritten[i] as Token);
    this.addr = [];
  }
  flush(): void {
    if (this.addr.length > 0) this.gotAddress();
  }
  flushComma(): void {
    if (this.addr.length === 0) return;
    this.gotAddress();
    this.out.push(special('comma'));
  }
}

/** Handles "<...>" with the phrase before it; false when "<" is missing. */
function angleAddress(s: Scan): boolean {
  s.flushComma();
  s.outLeft();
  while (s.more && s.current.type !== 'left') s.addrLeft();
  s.gotAddress();
  if (!s.more) return false;
  s.outLeft();
  while (s.more && PHRASE.has(s.current.type)) s.outLeft();
  return true;
}

/** Handles "name:" ending a group (read leftwards); the group name is kept as is. */
function groupStart(s: Scan): void {
  s.flush();
  while (s.more && s.current.type !== 'comma') s.outLeft();
  if (s.more) s.outLeft();
}

/** Rewrites every address of a whole field; undefined when the value does not parse. */
export function rewriteAddressList(tokens: readonly Token[], rewrite: AddressRewrite): Token[] | undefined {
  const s = new Scan(tokens, rewrite);
  let inGroup = false;
  let wordOk = true;
  while (s.more) {
    const type = s.current.type;
    switch (type) {
      case 'semi':
        s.flushComma();
        if (inGroup) return undefined;
        inGroup = true;
        wordOk = true;
        s.outLeft();
        break;
      case 'colon':
        if (!inGroup) return undefined;
        inGroup = false;
        groupStart(s);
        wordOk = true;
        break;
      case 'right':
        if (!angleAddress(s)) return undefined;
        wordOk = false;
        break;
      case 'atom': case 'quote': case 'literal':
        if (!wordOk) s.flushComma();
        wordOk = false;
        s.addrLeft();
        break;
      case 'comment':
        s.outLeft();
        break;
      case 'comma':
        s.flush();
        wordOk = true;
        s.outLeft();
        break;
      case 'at': case 'dot': case 'left':
        wordOk = true;
        s.addrLeft();
        break;
    }
  }
  s.flush();
  for (let i = Math.min(1, tokens.length - 1); i >= 0; i--) s.out.push(tokens[i] as Token);
  return s.out.reverse();
}
