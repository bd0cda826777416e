// The daemon's side of the delivery helper (qmail-lspawn's role; crates/lspawn): started
// as root before the drop when users/assign names system accounts (a uid other than the
// qmta account's), then used to run each such delivery, or POP3 session, as its owner.
//
// Interface: startHelper(queueUid, marginS?) -> Outcome<Helper> (before the drop); helper.request(
// req, input?) -> Outcome<number>: sends one request with a fresh reply socket and, for a
// delivery, the open message file; returns our end of the reply socket (the caller reads
// the child's answer there and closes it). helper.close() ends it (it exits on EOF).
// helper.marginMs: how long past its program time limit the helper lets a delivery child
// run before it kills it with what it started and answers 4.3.0 itself.
// Failures: the helper cannot be started or the request not sent -> temp 4.3.0.
// Guarantees: the helper gets descriptors, never a path to open as root; it exits when
// the daemon does (its end of the pair closes).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeFd, encodeLspawnRequest, sendWithFds, socketPair, type LspawnRequest } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * A delivery child's own work past its programs' time limit: Node's start, the message
 * copy, one mbox lock wait of up to 30 s, fsyncs; with room to spare.
 */
export const DELIVERY_MARGIN_S = 60;

export interface Helper {
  readonly pid: number;
  readonly marginMs: number;
  request(req: LspawnRequest, input?: number): Outcome<number>;
  close(): void;
}

/** Starts `qmta lspawn` (as root) on a fresh SOCK_SEQPACKET pair. */
export function startHelper(queueUid: number, marginS = DELIVERY_MARGIN_S): Outcome<Helper> {
  const pair = socketPair('seqpacket');
  if (pair.kind !== 'ok') return pair;
  const [mine, theirs] = pair.value;
  const child = spawn(process.execPath, [MAIN, 'lspawn', String(queueUid), String(marginS)], { stdio: ['ignore', 'ignore', 'inherit', theirs] });
  closeFd(theirs);
  if (child.pid === undefined) {
    closeFd(mine);
    return temp('4.3.0', 'cannot start the delivery helper');
  }
  child.unref();
  let open = true;
  return ok({
    pid: child.pid,
    marginMs: marginS * 1000,
    request(req, input) {
      if (!open) return temp('4.3.0', 'the delivery helper is closed');
      const packet = encodeLspawnRequest(req);
      if (packet.kind !== 'ok') return packet;
      const reply = socketPair('stream');
      if (reply.kind !== 'ok') return reply;
      const [ours, child] = reply.value;
      const sent = sendWithFds(mine, packet.value, input === undefined ? [child] : [child, input]);
      closeFd(child);
      if (sent.kind !== 'ok') {
        closeFd(ours);
        return temp('4.3.0', `the delivery helper is gone: ${sent.text}`);
      }
      return ok(ours);
    },
    close() {
      if (open) closeFd(mine);
      open = false;
    },
  });
}
