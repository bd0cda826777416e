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
// A connection whose first byte is LIST_REQUEST asks for the queue listing instead
// (listing.ts).

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
import { serveListing } from './listing.js';
import { senderAllowed, senderSettings, type Caller } from './policy.js';
import { Decoder, LIST_REQUEST, SOCKET_NAME } from './protocol.js';

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
    void dispatch(socket, ctx).catch(() => socket.destroy());
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

/** Reads the first chunk (a submission's or a listing request), then serves it. */
async function dispatch(socket: Socket, ctx: Ctx): Promise<void> {
  const first = await firstChunk(socket, ctx.config.current().timeoutsmtpd * 1000);
  if (first === undefined) return void socket.destroy();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  const peer = peerCredentials(fd);
  if (peer.kind !== 'ok') return void socket.end(`Z${peer.text} (#4.3.0)\n`);
  const caller = { uid: peer.value.uid, name: nameOf(peer.value.uid) };
  if (first[0] === LIST_REQUEST.charCodeAt(0)) return serveListing(socket, first, caller, ctx);
  return serve(socket, ctx, first, { pid: peer.value.pid, ...caller });
}

/** The first chunk, the socket paused after it; undefined at end, error or timeout. */
function firstChunk(socket: Socket, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    socket.setTimeout(timeoutMs, () => resolve(undefined));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve(chunk);
    });
    socket.once('end', () => resolve(undefined));
    socket.once('error', () => resolve(undefined));
  });
}

async function serve(socket: Socket, ctx: Ctx, first: Buffer, peer: Caller & { pid: number }): Promise<void> {
  const c = ctx.config.current();
  const ring = await loadKeyring(c.dkimkeys);
  const queue: Queue = ring.kind === 'ok' ? signingQueue(ctx.queue, () => ring.value) : ctx.queue;
  const w = queue.createWriter();
  if (w.kind !== 'ok') return void socket.end(`Z${w.text} (#${w.status})\n`);
  const traced = w.value.write(invokedBy(peer.pid, peer.uid, Date.now()));
  if (traced) {
    w.value.abort();
    return void socket.end(`Z${traced.text} (#${traced.status})\n`);
  }
  // Resumed to read the client's end, so the half-open socket closes and frees its slot.
  const answer = (line: string): void => void socket.end(`${line}\n`).resume();
  receive(socket, first, w.value, c.databytes, c.timeoutsmtpd * 1000, async (envelope) => {
    const why = senderAllowed(peer, envelope.sender, senderSettings(c, process.getuid?.() ?? 0));
    if (why !== undefined) {
      w.value.abort();
      ctx.log.warn({ event: 'submit', uid: peer.uid, sender: envelope.sender }, `local submission refused: ${why}`);
      return answer(`D${why} (#5.7.1)`);
    }
    const id = await w.value.commit(envelope);
    if (id.kind !== 'ok') return answer(`${id.kind === 'perm' ? 'D' : 'Z'}${id.text} (#${id.status})`);
    ctx.enqueued(id.value);
    ctx.log.info({ event: 'submit', uid: peer.uid, pid: peer.pid, id: id.value }, `local submission ${id.value} from uid ${peer.uid}`);
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

/** Feeds `first` and the rest of the socket through the decoder into the writer; calls
 *  done once with the envelope. */
function receive(socket: Socket, first: Buffer, w: MessageWriter, databytes: number, timeoutMs: number,
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
  const onData = (chunk: Buffer): void => {
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
  };
  // Read on even after a refusal (a socket closed with unread bytes resets the client's
  // end before it reads our answer); the envelope's pause, even in `first`, comes after.
  socket.on('data', onData);
  socket.resume();
  onData(first);
}
