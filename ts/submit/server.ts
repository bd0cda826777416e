// The local submission service (ts/daemon/services.ts): a UNIX socket HOME/qmta.sock,
// mode 0666, on which any local user hands a message to the daemon (protocol.ts). The
// caller's uid comes from SO_PEERCRED; the envelope sender must pass policy.ts; the
// message gets qmail-queue's "Received: (qmail PID invoked by uid UID); DATE" line with
// the kernel's pid and uid of the caller, is DKIM-signed when keys are configured (as
// `qmta inject` would), committed through the engine's queue (fsync'd, the scheduler
// woken at once), and answered K id.
//
// Interface: submitService (a ServiceStarter).
// Limits, as SMTP: control/databytes (D ... #5.3.4 past it), timeoutsmtpd seconds per
// read (a stalled client is dropped, nothing queued), the decoder's bounds, and
// maxconnections at once (the rest are closed with Z ... #4.3.2).
// Failures: a socket that cannot be made -> temp 4.3.0 (qmta does not start); per
// connection: protocol error D #5.5.4, policy D #5.7.1, queue failures as they come.
// Guarantees: nothing is queued unless the whole message and envelope arrived and passed;
// the answer K comes only after the commit.

import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { rfc822Date } from '../bounce/compose.js';
import { loadKeyring } from '../dkim/keyring.js';
import { signingQueue } from '../dkim/signing-queue.js';
import type { ServiceStarter } from '../daemon/services.js';
import { accountByUid, peerCredentials } from '../native.js';
import { ok, temp, type Outcome } from '../outcome.js';
import type { MessageWriter, Queue } from '../queue/types.js';
import { senderAllowed } from './policy.js';
import { Decoder, SOCKET_NAME } from './protocol.js';

const MAX_CLIENTS = 100;

/** Starts listening on HOME/qmta.sock. */
export const submitService: ServiceStarter = async (ctx) => {
  const path = join(ctx.home, SOCKET_NAME);
  let clients = 0;
  // Half-open: the client ends its side after the envelope and waits for our answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (++clients > MAX_CLIENTS) {
      clients--;
      return void socket.end('Ztoo many local submissions at once (#4.3.2)\n');
    }
    socket.once('close', () => clients--);
    void serve(socket, ctx).catch(() => socket.destroy());
  });
  try {
    unlinkSync(path);
  } catch {
    // none left from a previous run
  }
  const listening = await new Promise<Outcome<Server>>((resolve) => {
    server.once('error', (err) => resolve(temp('4.3.0', `submission socket ${path}: ${err.message}`)));
    server.listen(path, () => resolve(ok(server)));
  });
  if (listening.kind !== 'ok') return listening;
  chmodSync(path, 0o666);
  return ok({ name: 'submit', stop: () => new Promise<void>((r) => server.close(() => r())) });
};

type Ctx = Parameters<ServiceStarter>[0];

async function serve(socket: Socket, ctx: Ctx): Promise<void> {
  const c = ctx.config.current();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  const peer = peerCredentials(fd);
  if (peer.kind !== 'ok') return void socket.end(`Z${peer.text} (#4.3.0)\n`);
  const ring = await loadKeyring(c.dkimkeys);
  const queue: Queue = ring.kind === 'ok' ? signingQueue(ctx.queue, () => ring.value) : ctx.queue;
  const w = queue.createWriter();
  if (w.kind !== 'ok') return void socket.end(`Z${w.text} (#${w.status})\n`);
  const traced = w.value.write(invokedBy(peer.value.pid, peer.value.uid, Date.now()));
  if (traced) {
    w.value.abort();
    return void socket.end(`Z${traced.text} (#${traced.status})\n`);
  }
  const answer = (line: string): void => void socket.end(`${line}\n`);
  const caller = { uid: peer.value.uid, name: nameOf(peer.value.uid) };
  receive(socket, w.value, c.databytes, c.timeoutsmtpd * 1000, async (envelope) => {
    const why = senderAllowed(caller, envelope.sender, { self: process.getuid?.() ?? 0, trusted: c.trustedusers, hosts: [...c.locals, c.me.toLowerCase(), c.defaulthost.toLowerCase()] });
    if (why !== undefined) {
      w.value.abort();
      ctx.log.warn({ event: 'submit', uid: caller.uid, sender: envelope.sender }, `local submission refused: ${why}`);
      return answer(`D${why} (#5.7.1)`);
    }
    const id = await w.value.commit(envelope);
    if (id.kind !== 'ok') return answer(`${id.kind === 'perm' ? 'D' : 'Z'}${id.text} (#${id.status})`);
    ctx.enqueued(id.value);
    ctx.log.info({ event: 'submit', uid: caller.uid, pid: peer.value.pid, id: id.value }, `local submission ${id.value} from uid ${caller.uid}`);
    return answer(`K${id.value}`);
  }, answer);
}

/**
 * qmail-queue's trace line, "Received: (qmail PID invoked by uid UID); DATE", from the
 * kernel's word (SO_PEERCRED), never the client's. PID is the submitting process's
 * (qmail's is qmail-queue's, a child of qmail-inject: the same trail in the logs).
 */
export function invokedBy(pid: number, uid: number, nowMs: number): Buffer {
  return Buffer.from(`Received: (qmail ${pid} invoked by uid ${uid}); ${rfc822Date(nowMs)}\n`);
}

function nameOf(uid: number): string | undefined {
  const a = accountByUid(uid);
  return a.kind === 'ok' ? a.value?.name : undefined;
}

/** Feeds the socket through the decoder into the writer; calls done once with the envelope. */
function receive(socket: Socket, w: MessageWriter, databytes: number, timeoutMs: number,
  done: (e: { sender: string; recipients: string[] }) => Promise<void>, answer: (line: string) => void): void {
  const decoder = new Decoder();
  const traceBytes = w.size; // the Received line is ours: databytes counts the client's bytes
  let finished = false;
  const fail = (line: string) => {
    if (finished) return;
    finished = true;
    w.abort();
    answer(line);
  };
  socket.setTimeout(timeoutMs, () => { fail('Ztimed out waiting for the message (#4.4.2)'); socket.destroy(); });
  socket.on('error', () => fail('Zconnection lost (#4.4.2)'));
  socket.on('end', () => fail('Zthe message ended before its envelope (#4.3.0)'));
  socket.on('data', (chunk: Buffer) => {
    if (finished) return;
    for (const ev of decoder.push(chunk)) {
      if (ev.kind === 'error') return fail(`D${ev.text} (#5.5.4)`);
      if (ev.kind === 'body') {
        if (databytes > 0 && w.size - traceBytes + ev.bytes.length > databytes) return fail('Dmessage too big (#5.3.4)');
        const f = w.write(ev.bytes);
        if (f) return fail(`${f.kind === 'perm' ? 'D' : 'Z'}${f.text} (#${f.status})`);
        continue;
      }
      finished = true;
      socket.pause();
      void done({ sender: ev.envelope.sender, recipients: [...ev.envelope.recipients] });
    }
  });
}
