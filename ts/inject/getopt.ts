// POSIX getopt as qmail's programs use it: clustered letters ("-tif x"), an option argument
// attached ("-fsender") or in the next word ("-f sender"), "--" ends the options, and so does
// the first word that is not an option.
//
// Interface: getopt(argv, spec) -> { options, rest } | { bad }.
// spec maps a letter to 'flag', 'arg' (argument required) or 'attached' (an optional argument
// only in the same word, like sendmail's -E and -J, or -q15m).
// Failures: an unknown letter or a missing argument -> { bad: letter } (callers: usage, exit 100).

export type OptionKind = 'flag' | 'arg' | 'attached';

export interface ParsedOptions {
  readonly options: ReadonlyArray<readonly [string, string]>;
  readonly rest: readonly string[];
}

/** Parses argv (without the program name). */
export function getopt(argv: readonly string[], spec: Readonly<Record<string, OptionKind>>): ParsedOptions | { readonly bad: string } {
  const options: Array<[string, string]> = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      i++;
      break;
    }
    if (word.length < 2 || word[0] !== '-') break;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      const kind = spec[letter];
      if (kind === undefined) return { bad: letter };
      if (kind === 'flag') {
        options.push([letter, '']);
        continue;
      }
      let value = word.slice(j + 1);
      if (kind === 'arg' && value === '') {
        if (++i >= argv.length) return { bad: letter };
        value = argv[i] as string;
      }
      options.push([letter, value]);
      break;
    }
  }
  return { options, rest: argv.slice(i) };
}
