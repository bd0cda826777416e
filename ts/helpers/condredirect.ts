// condredirect (qmail's condredirect(1)): `|condredirect newaddress program [arg ...]` runs
// program on the message; if it exits 0 the message (with $DTLINE in front) is queued to
// newaddress with the ORIGINAL envelope sender $SENDER and the .qmail file stops (exit 99).
//
// Interface: runCondredirect(args, io) -> exit code.
// Exit codes: program 0 -> queued, 99 (prints "condredirect: qp <id>"); program 111 or
// crashed -> 111; any other exit, or a program that cannot be found -> 0 (carry on with the
// next .qmail line); 100 usage, SENDER or DTLINE missing, or a permanent queue failure; 111
// when the message cannot be rewound (stdin is not a file) or other temporary trouble.

import { exitCodeOf, runChild } from './child.js';
import { fatal, messageStream, queueCopy, queueExit, type HelperIo } from './io.js';

const USAGE = 'condredirect: usage: condredirect newaddress program [ arg ... ]';

/** Runs condredirect with its arguments. */
export async function runCondredirect(args: readonly string[], io: HelperIo): Promise<number> {
  const [target, ...program] = args;
  if (target === undefined || program.length === 0) return fatal(io, '', 100, USAGE);
  const code = exitCodeOf(await runChild(program, io.stdinFd, io));
  if (code === 'crashed') return fatal(io, 'condredirect', 111, 'child crashed');
  if (code === 111) return fatal(io, 'condredirect', 111, 'temporary child error');
  if (code !== 0) return 0;
  const sender = io.env['SENDER'];
  if (sender === undefined) return fatal(io, 'condredirect', 100, 'SENDER not set');
  const dtline = io.env['DTLINE'];
  if (dtline === undefined) return fatal(io, 'condredirect', 100, 'DTLINE not set');
  let body;
  try {
    body = messageStream(io.stdinFd, true);
  } catch (err) {
    return fatal(io, 'condredirect', 111, `unable to rewind: ${(err as Error).message}`);
  }
  const r = await queueCopy(io, dtline, body, { sender, recipients: [target] });
  if (r.kind !== 'ok') return fatal(io, 'condredirect', queueExit(r.kind), r.text);
  io.stderr.write(`condredirect: qp ${r.value}\n`);
  return 99;
}
