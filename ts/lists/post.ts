// `|qmta list post NAME --dir DIR` in .qmail-NAME: a message to the list goes to every
// subscriber, with the list header fields in front (List-Id, List-Post, List-Help,
// List-Subscribe, List-Unsubscribe, Mailing-List, Precedence) and the envelope sender
// local-return-@host-@[] so that each subscriber's bounce comes back to
// local-return-box=dom@host (qmail VERP) or, for qmta's own bounces, to local-return-@host.
//
// Interface: runListPost(state, io) -> exit code.
// Exit codes: 0 queued (or no subscriber); 100 the message already carries this list's
// List-Id (a loop, #5.4.6), no such list; 111 temporary trouble (queue, read, lock).
// Guarantees: the body is streamed; the incoming Return-Path is dropped (a new one is added
// at delivery); Delivered-To lines are kept so loops across hosts are still caught.

import { DEFAULT_MAX_HEADER_BYTES } from '../inject/inject.js';
import { readHeaderSection } from '../inject/split.js';
import { fatal, messageStream, queueExit, type HelperIo } from '../helpers/io.js';
import { listHeaders, listId, verpSender } from './addresses.js';
import { queueStreamed } from './send.js';
import { readConfig, readSubscribers, type ListState } from './store.js';

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
  const header = listHeaders(cfg.value) + fields.filter((f) => !fieldIs(f, 'return-path')).join('');
  const r = await queueStreamed(io, header, section.value, { sender: verpSender(cfg.value), recipients: subs.value });
  if (r.kind !== 'ok') return fatal(io, 'list post', queueExit(r.kind), r.text);
  io.stderr.write(`list post: qp ${r.value} to ${subs.value.length} subscribers\n`);
  return 0;
}
