// bouncesaying and except (qmail's bouncesaying(1), except(1)).
// `|bouncesaying 'text' [program [arg ...]]`: without program, bounce with text (exit 100);
// with program: program 0 -> bounce with text (100); 111 -> 111; anything else or not found -> 0.
// `except program [arg ...]`: inverts program: 0 -> 100; 111 -> 111; anything else -> 0.
//
// Interface: runBouncesaying(args, io), runExcept(args, io) -> exit code.
// Exit codes as above; 100 on usage errors; 111 when the program crashed.

import { exitCodeOf, runChild } from './child.js';
import { fatal, type HelperIo } from './io.js';

/** Runs bouncesaying with its arguments. */
export async function runBouncesaying(args: readonly string[], io: HelperIo): Promise<number> {
  const [text, ...program] = args;
  if (text === undefined) return fatal(io, '', 100, 'bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]');
  if (program.length > 0) {
    const code = exitCodeOf(await runChild(program, io.stdinFd, io));
    if (code === 'crashed') return fatal(io, 'bouncesaying', 111, 'child crashed');
    if (code === 111) return fatal(io, 'bouncesaying', 111, 'temporary child error');
    if (code !== 0) return 0;
  }
  return fatal(io, '', 100, text);
}

/** Runs except with its arguments. */
export async function runExcept(args: readonly string[], io: HelperIo): Promise<number> {
  if (args.length === 0) return fatal(io, '', 100, 'except: usage: except program [ arg ... ]');
  const code = exitCodeOf(await runChild(args, io.stdinFd, io));
  if (code === 'crashed') return fatal(io, 'except', 111, 'child crashed');
  if (code === 111) return fatal(io, 'except', 111, 'temporary child error');
  return code === 0 ? 100 : 0;
}
