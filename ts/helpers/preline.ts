// preline (qmail's preline(1)): `|preline [-dfr] command [arg ...]` feeds command the message
// preceded by $UFLINE (mbox From_), $RPLINE (Return-Path) and $DTLINE (Delivered-To); -f, -r,
// -d leave the respective line out, -F, -R, -D put it back. For procmail, vacation and friends.
//
// Interface: runPreline(args, io) -> exit code.
// Exit codes: the command's own; 100 usage or UFLINE/RPLINE/DTLINE missing, or a command that
// cannot be run for a permanent reason; 111 the command crashed, could not start for a
// temporary reason, or the copy failed (other than the command closing its input early).

import { runChild } from './child.js';
import { getopt } from '../inject/getopt.js';
import { fatal, messageStream, type HelperIo } from './io.js';
import type { Writable } from 'node:stream';

const USAGE = 'preline: usage: preline cmd [ arg ... ]';

interface Lines { uf: boolean; rp: boolean; dt: boolean }

function parse(args: readonly string[]): { lines: Lines; command: readonly string[] } | undefined {
  const p = getopt(args, { f: 'flag', r: 'flag', d: 'flag', F: 'flag', R: 'flag', D: 'flag' });
  if ('bad' in p || p.rest.length === 0) return undefined;
  const lines: Lines = { uf: true, rp: true, dt: true };
  for (const [letter] of p.options) {
    const key = letter.toLowerCase() === 'f' ? 'uf' : letter.toLowerCase() === 'r' ? 'rp' : 'dt';
    lines[key] = letter === letter.toUpperCase();
  }
  return { lines, command: p.rest };
}

/** Writes the prefix lines and the message into the command's stdin; EPIPE is not an error. */
async function feed(stdin: Writable, prefix: string, io: HelperIo): Promise<string | undefined> {
  stdin.on('error', () => undefined);
  const put = async (b: Buffer | string): Promise<boolean> => {
    if (stdin.destroyed) return false;
    if (!stdin.write(b)) await new Promise<void>((resolve) => { stdin.once('drain', resolve); stdin.once('close', resolve); });
    return !stdin.destroyed;
  };
  try {
    if (!(await put(prefix))) return undefined;
    for await (const chunk of messageStream(io.stdinFd, false)) if (!(await put(chunk as Buffer))) break;
  } catch (err) {
    return (err as Error).message;
  } finally {
    stdin.end();
  }
  return undefined;
}

/** Runs preline with its arguments. */
export async function runPreline(args: readonly string[], io: HelperIo): Promise<number> {
  const { UFLINE: uf, RPLINE: rp, DTLINE: dt } = io.env;
  if (uf === undefined || rp === undefined || dt === undefined) return fatal(io, '', 100, USAGE);
  const p = parse(args);
  if (!p) return fatal(io, '', 100, USAGE);
  const prefix = (p.lines.uf ? uf : '') + (p.lines.rp ? rp : '') + (p.lines.dt ? dt : '');
  let copyError: Promise<string | undefined> = Promise.resolve(undefined);
  const exit = await runChild(p.command, 'pipe', io, (child) => {
    if (child.stdin) copyError = feed(child.stdin, prefix, io);
  });
  if ('execFailed' in exit) return fatal(io, 'preline', exit.execFailed === 'temp' ? 111 : 100, `unable to run ${p.command[0]}: ${exit.message}`);
  const err = await copyError;
  if (err !== undefined) return fatal(io, 'preline', 111, `unable to copy input: ${err}`);
  if ('crashed' in exit) return fatal(io, 'preline', 111, 'child crashed');
  return exit.code;
}
