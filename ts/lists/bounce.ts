// `|qmta list bounce NAME --dir DIR` in .qmail-NAME-return-default: bounces of list mail.
// A bounce to local-return-box=dom@host (VERP, from a remote server) names the subscriber in
// $DEFAULT; a bounce to local-return-@host (qmta's own QSBMF bounce of the VERP message)
// names the failed recipients in its "<address>:" paragraphs. Each bounce of a subscriber is
// recorded; one with bounceLimit bounces within bounceDays is removed from the list.
//
// Interface: runListBounce(state, io, now?) -> exit code; qsbmfRecipients(text) -> addresses.
// Exit codes: 0 (recorded, or nothing to record: not a subscriber, not a bounce); 100 no such
// list; 111 temporary trouble (lock, disk).
// Guarantees: at most MAX_READ bytes of a bounce are read; record files are named by a hash
// of the address, never by text from the network.

import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, type Outcome } from '../outcome.js';
import { writeFileAtomic } from '../users/atomic-write.js';
import { fatal, messageStream, queueExit, type HelperIo } from '../helpers/io.js';
import { boxDom } from './addresses.js';
import { changeSubscribers, normalizeAddress, readConfig, readSubscribers, type ListConfig, type ListState } from './store.js';

const MAX_READ = 256 * 1024;

/** The failed recipients of a QSBMF bounce (qmail.md §7.4); [] when it is not one. */
export function qsbmfRecipients(message: string): string[] {
  const body = message.slice(message.indexOf('\n\n') + 2);
  const paragraphs = body.split(/\n\n+/);
  if (!paragraphs[0]?.startsWith('Hi. This is the')) return [];
  const out: string[] = [];
  for (const p of paragraphs.slice(1)) {
    if (p.startsWith('-')) break;
    const m = /^<([^>\n]*)>:/.exec(p);
    if (m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

async function readBounce(io: HelperIo): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of messageStream(io.stdinFd, false)) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= MAX_READ) break;
  }
  return Buffer.concat(parts).subarray(0, MAX_READ).toString('latin1');
}

/** Adds one bounce time; true when the subscriber has reached the limit. */
async function record(s: ListState, cfg: ListConfig, address: string, now: number): Promise<Outcome<boolean>> {
  const path = join(s.root, 'bounces', createHash('sha256').update(address).digest('hex'));
  let times: number[] = [];
  try {
    times = (JSON.parse(await readFile(path, 'utf8')) as { times: number[] }).times;
  } catch {
    times = [];
  }
  const since = now - cfg.bounceDays * 86_400_000;
  times = [...times.filter((t) => t >= since), now];
  if (times.length >= cfg.bounceLimit) {
    await unlink(path).catch(() => undefined);
    return ok(true);
  }
  const w = await writeFileAtomic(path, JSON.stringify({ address, times }), 0o600);
  return w.kind === 'ok' ? ok(false) : w;
}

/** Counts the bounce on stdin against the list's subscribers. */
export async function runListBounce(state: ListState, io: HelperIo, now = Date.now()): Promise<number> {
  const cfg = await readConfig(state);
  if (cfg.kind !== 'ok') return fatal(io, 'list bounce', queueExit(cfg.kind), cfg.text);
  const subs = await readSubscribers(state);
  if (subs.kind !== 'ok') return fatal(io, 'list bounce', 111, subs.text);
  const def = io.env['DEFAULT'] ?? '';
  const named = def !== '' ? [boxDom(def)] : qsbmfRecipients(await readBounce(io));
  const members = new Set(subs.value);
  const bounced = [...new Set(named.map((a) => (a === undefined ? undefined : normalizeAddress(a))))]
    .filter((a): a is string => a !== undefined && members.has(a));
  const remove: string[] = [];
  for (const a of bounced) {
    const r = await record(state, cfg.value, a, now);
    if (r.kind !== 'ok') return fatal(io, 'list bounce', 111, r.text);
    if (r.value) remove.push(a);
  }
  if (remove.length === 0) return 0;
  const changed = await changeSubscribers(state, (cur) => cur.filter((a) => !remove.includes(a)));
  if (changed.kind !== 'ok') return fatal(io, 'list bounce', 111, changed.text);
  io.stderr.write(`list bounce: removed ${remove.join(', ')} after ${cfg.value.bounceLimit} bounces\n`);
  return 0;
}

