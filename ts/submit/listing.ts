// The queue listing over HOME/qmta.sock (protocol.ts LIST_REQUEST), so that `mailq` and
// `qmta queue` work for any local user with no setuid program, showing each caller only
// what policy.ts lets them see: the whole queue for root, the qmta account and trusted
// users; the messages with an envelope sender of their own for anyone else.
//
// Interface: serveListing(socket, request, caller, ctx) (the daemon's side);
// writeBlocks(blocks, out) -> Promise<number | undefined> (also used by mailq reading the queue
// itself).
// Limits: nothing is held but one message's lines: each is written with backpressure
// (a client that stops reading is dropped after timeoutsmtpd seconds), and the event loop
// is given back every YIELD_EVERY messages, so a huge queue neither fills memory nor
// stalls the daemon. Failures: a request other than LIST_REQUEST -> D ... #5.5.4; a
// listing cut short (client gone, timeout) ends without LIST_END.

import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { qreadBlocks } from '../daemon/qread.js';
import type { ServiceStarter } from '../daemon/services.js';
import { ownSender, seesWholeQueue, senderSettings, type Caller } from './policy.js';
import { LIST_END, LIST_REQUEST } from './protocol.js';

const YIELD_EVERY = 64;

type Ctx = Parameters<ServiceStarter>[0];

/** Answers one listing request on `socket` for `caller`. */
export async function serveListing(socket: Socket, request: Buffer, caller: Caller, ctx: Ctx): Promise<void> {
  socket.resume(); // reads (and drops) the rest, to see the client's end and close
  if (request.toString('latin1') !== LIST_REQUEST) return void socket.end('Dbad listing request (#5.5.4)\n');
  const c = ctx.config.current();
  socket.setTimeout(c.timeoutsmtpd * 1000, () => socket.destroy());
  const s = senderSettings(c, process.getuid?.() ?? 0);
  const all = seesWholeQueue(caller, s);
  const keep = (sender: string): boolean => all || (sender !== '' && ownSender(caller, sender, s));
  socket.write('K\n');
  const shown = await writeBlocks(qreadBlocks(ctx.queue, keep), socket);
  if (shown === undefined) return void socket.destroy();
  socket.end(LIST_END);
  ctx.log.info({ event: 'mailq', uid: caller.uid, shown, all }, `queue listing for uid ${caller.uid}: ${shown} ${all ? 'messages (all)' : 'messages of its own'}`);
}

/** Writes each block but '' to `out`, waiting for it to drain: how many, or undefined
 *  when `out` closed first. */
export async function writeBlocks(blocks: Iterable<string>, out: Writable): Promise<number | undefined> {
  let [read, written] = [0, 0];
  for (const block of blocks) {
    if (out.destroyed || out.writableEnded) return undefined;
    if (block !== '') {
      written++;
      if (!out.write(block) && !(await drained(out))) return undefined;
    }
    if (++read % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
  }
  return out.destroyed ? undefined : written;
}

function drained(out: Writable): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}
