// forward (qmail's forward(1)): `|forward address ...` queues the message, with $DTLINE in
// front, to every address, envelope sender $NEWSENDER.
//
// Interface: runForward(args, io) -> exit code.
// Exit codes: 0 queued (prints "forward: qp <id>"); 100 NEWSENDER or DTLINE missing, or a
// permanent queue failure; 111 temporary failure (read error, queue trouble).

import { fatal, messageStream, queueCopy, queueExit, type HelperIo } from './io.js';

/** Runs forward with its arguments (the addresses). */
export async function runForward(args: readonly string[], io: HelperIo): Promise<number> {
  const sender = io.env['NEWSENDER'];
  if (sender === undefined) return fatal(io, 'forward', 100, 'NEWSENDER not set');
  const dtline = io.env['DTLINE'];
  if (dtline === undefined) return fatal(io, 'forward', 100, 'DTLINE not set');
  const r = await queueCopy(io, dtline, messageStream(io.stdinFd, false), { sender, recipients: args });
  if (r.kind !== 'ok') return fatal(io, 'forward', queueExit(r.kind), r.text);
  io.stderr.write(`forward: qp ${r.value}\n`);
  return 0;
}
