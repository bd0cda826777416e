// The shape of one control file in the table, and the constructors every keys/*.ts uses.
//
// Interface: a KeySpec<T> says how control/NAME is read (kind), what it means, what its
// default is (text for documentation, value through fallback()), and how its lines become
// a typed T (parse). Constructors: lineKey, optionalLineKey, intKey, flagKey, listKey.
// Failures: parse returns { reason } for a bad value; index.ts turns that into temp 4.3.5
// naming the file (or the override) and line.
// Guarantee: parse never throws for any input text.

import { firstLine, leadingInt, listLines, type ListLine } from './read.js';

/** How qmail reads the file (§3.1): first line, leading integer, or every line. */
export type ControlKind = 'line' | 'int' | 'list';

/** What defaults may depend on: me, locals and virtualdomains, resolved first in that order. */
export interface DefaultContext {
  readonly home: string;
  readonly me: string;
  readonly locals: readonly string[];
  readonly virtualdomains: readonly { readonly key: string; readonly prepend: string }[];
}

/** A parse result: the value or the reason it is bad. */
export type Parsed<T> = { readonly value: T } | { readonly reason: string };

export interface KeySpec<T> {
  readonly kind: ControlKind;
  /** One line saying what the file does. */
  readonly meaning: string;
  /** The default as documentation prints it: "10", "me", "none"... */
  readonly defaultText: string;
  /** The value when the file is missing. */
  fallback(ctx: DefaultContext): T;
  /** The value from the file's lines (raw, as split from the file). */
  parse(lines: readonly string[], ctx: DefaultContext): Parsed<T>;
}

/** Parses one list entry; returns the value or the reason it is bad. */
export type ItemParser<T> = (text: string, ctx: DefaultContext) => Parsed<T>;

/** A single-value file whose default is computed (e.g. from me). */
export function lineKey(meaning: string, defaultText: string, fallback: (ctx: DefaultContext) => string,
  check?: ItemParser<string>): KeySpec<string> {
  return {
    kind: 'line', meaning, defaultText, fallback,
    parse: (lines, ctx) => (check ? check(firstLine(lines), ctx) : { value: firstLine(lines) }),
  };
}

/** A single-value file with no default: undefined when missing. */
export function optionalLineKey<T = string>(meaning: string, item?: ItemParser<T>): KeySpec<T | undefined> {
  return {
    kind: 'line', meaning, defaultText: 'none',
    fallback: () => undefined,
    parse: (lines, ctx) => (item ? item(firstLine(lines), ctx) : { value: firstLine(lines) as T }),
  };
}

export interface IntOptions {
  /** qmail caps some values silently (concurrency at SPAWN = 120); so do we. */
  readonly cap?: number;
  /** Values below this are raised to it (timeoutsmtpd: <= 0 means 1). */
  readonly floor?: number;
}

/** An integer file: leading digits of the first line; no digits keeps the default (qmail). */
export function intKey(meaning: string, def: number, opts: IntOptions = {}): KeySpec<number> {
  return {
    kind: 'int', meaning, defaultText: String(def),
    fallback: () => def,
    parse: (lines) => {
      const n = leadingInt(lines);
      if (n === undefined) return { value: def };
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) return { reason: `number ${n} is too large` };
      let v = Number(n);
      if (opts.cap !== undefined && v > opts.cap) v = opts.cap;
      if (opts.floor !== undefined && v < opts.floor) v = opts.floor;
      return { value: v };
    },
  };
}

/** A 0/1 integer file: any non-zero number is true. */
export function flagKey(meaning: string, def: boolean): KeySpec<boolean> {
  return {
    kind: 'int', meaning, defaultText: def ? '1' : '0',
    fallback: () => def,
    parse: (lines) => {
      const n = leadingInt(lines);
      return { value: n === undefined ? def : n !== 0n };
    },
  };
}

/** A list file; each entry goes through `item`, a bad entry names its line. */
export function listKey<T>(meaning: string, defaultText: string, fallback: (ctx: DefaultContext) => readonly T[],
  item: ItemParser<T>): KeySpec<readonly T[]> {
  return {
    kind: 'list', meaning, defaultText, fallback,
    parse: (lines, ctx) => parseList(listLines(lines), ctx, item),
  };
}

function parseList<T>(entries: readonly ListLine[], ctx: DefaultContext, item: ItemParser<T>): Parsed<readonly T[]> {
  const out: T[] = [];
  for (const e of entries) {
    const p = item(e.text, ctx);
    if ('reason' in p) return { reason: `line ${e.line}: ${p.reason}` };
    out.push(p.value);
  }
  return { value: out };
}

/** Item parser: list matching is case-insensitive, so entries are kept lowercased. */
export const lowercase: ItemParser<string> = (text) => ({ value: text.toLowerCase() });

/** Item parser for plain text entries, kept as written. */
export const verbatim: ItemParser<string> = (text) => ({ value: text });
