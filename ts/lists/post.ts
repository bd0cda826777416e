// `|qmta list post NAME --dir DIR` in .qmail-NAME: a message to the list goes to every
// subscriber, with the list header fields in front (List-Id, List-Post, List-Help,
// List-Subscribe, List-Unsubscribe, Mailing-List, Precedence) and the envelope sender
// local-return-@host-@[] so that each subscriber's bounce comes back to
// local-return-box=dom@host (qmail VERP) or, for qmta's own bounces, to local-return-@host.
//
// Interface: runListPost(state, io) -> exit code.
// Exit codes: 0 queued (or no subscriber); 100 the message already carries this list's
// List-Id (a loop, #5.4.6), no such list; 111 temporary trouble (queue, read, lock).
// With a oneClickUrl (RFC 8058), each subscriber gets its own copy (same VERP sender) whose
// List-Unsubscribe carries a signed one-click URI; the post is spooled once to a file in the
// list's folder and the queue copies it behind each copy's header.
// Guarantees: the body is streamed, never held whole; the incoming Return-Path is dropped (a
// new one is added at delivery); Delivered-To lines are kept so loops across hosts are caught.

import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, temp, type Failure, type Outcome } from '../outcome.js';
import { DEFAULT_MAX_HEADER_BYTES } from '../inject/inject.js';
import { bodyChunks, readHeaderSection, type HeaderSection } from '../inject/split.js';
import { fatal, messageStream, queueExit, type HelperIo } from '../helpers/io.js';
import { listHeaders, listId, verpSender } from './addresses.js';
import { oneClickHeaders } from './one-click.js';
import { queueStreamed } from './send.js';
import { readConfig, readSubscribers, type ListConfig, type ListState } from './store.js';

/** Copies queued at once for a one-click list (the queue batches their fsyncs). */
const LANES = 16;

function fieldIs(field: string, name: string): boolean {
  return new RegExp(`^${name}[ \\t]*:`, 'i').test(field);
}

/** Distributes the message on stdin to the list's subscribers. */
export async function runListPost(state: ListState, io: HelperIo): Promise<number> {
  const cfg = await readConfig(state);
  if (cfg.kind !== 'ok') return fatal(io, 'list post', queueExit(cfg.kind), cfg.text);
  const subs = await readSubscribers(state);
  if (subs.kind !== 'ok') return fatal(io, 'list post', 111, subs.text);
  const section = await readHeaderSection(messageStream(io.stdinFd, false)[Symbol.asyncIterator](), DEFAULT_MAX_HEADER_BYTES);
  if (section.kind !== 'ok') return fatal(io, 'list post', queueExit(section.kind), section.text);
  const id = `<${listId(cfg.value)}>`;
  const fields = section.value.fields;
  if (fields.some((f) => fieldIs(f, 'list-id') && f.includes(id))) {
    return fatal(io, '', 100, `This message is looping: it already went through ${cfg.value.address} (#5.4.6)`);
  }
  if (subs.value.length === 0) return 0;
  const kept = fields.filter((f) => !fieldIs(f, 'return-path')).join('');
  if (cfg.value.oneClickUrl) {
    const r = await queueEach(state, io, cfg.value, subs.value, kept, section.value);
    if (r.kind !== 'ok') return fatal(io, 'list post', queueExit(r.kind), r.text);
    io.stderr.write(`list post: ${subs.value.length} copies with one-click links\n`);
    return 0;
  }
  const r = await queueStreamed(io, listHeaders(cfg.value) + kept, section.value, { sender: verpSender(cfg.value), recipients: subs.value });
  if (r.kind !== 'ok') return fatal(io, 'list post', queueExit(r.kind), r.text);
  io.stderr.write(`list post: qp ${r.value} to ${subs.value.length} subscribers\n`);
  return 0;
}

/** Writes the post once to a file in the list's folder (streamed); removed by the caller. */
async function spool(state: ListState, kept: string, section: HeaderSection): Promise<Outcome<string>> {
  const path = join(state.root, `outgoing.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.write(Buffer.from(kept, 'latin1'));
      for await (const chunk of bodyChunks(section)) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    return ok(path);
  } catch (err) {
    await unlink(path).catch(() => undefined);
    return temp('4.3.0', `unable to write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** One copy per subscriber, each with its own one-click List-Unsubscribe (RFC 8058). */
async function queueEach(state: ListState, io: HelperIo, cfg: ListConfig, subs: readonly string[], kept: string, section: HeaderSection): Promise<Outcome<void>> {
  const q = await io.openQueue();
  if (q.kind !== 'ok') return q;
  const path = await spool(state, kept, section);
  if (path.kind !== 'ok') return path;
  let next = 0;
  let failure: Failure | undefined;
  const lane = async (): Promise<void> => {
    while (next < subs.length && !failure) {
      const sub = subs[next++] as string;
      const prefix = Buffer.from(listHeaders(cfg, oneClickHeaders(cfg, sub)), 'latin1');
      const r = await q.value.add({ sender: verpSender(cfg), recipients: [sub] }, { path: path.value, prefix });
      if (r.kind !== 'ok') failure = r;
    }
  };
  try {
    await Promise.all(Array.from({ length: LANES }, lane));
  } finally {
    await unlink(path.value).catch(() => undefined);
  }
  // Copies already queued stay queued: a retry of this post may duplicate them (at-least-once).
  return failure ?? ok(undefined);
}
