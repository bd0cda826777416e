// `|qmta list request NAME --dir DIR` in .qmail-NAME-default: the list's command addresses.
//   local-subscribe[-box=dom]   -> confirmation request sent to the target (box@dom, else $SENDER)
//   local-unsubscribe[-box=dom] -> likewise
//   local-confirm-TOKEN         -> the pending change is made (once), a notice sent
//   local-request               -> "subscribe"/"unsubscribe"/"help" read from the Subject
//   local-help, anything else   -> help text to $SENDER
// Nothing changes the subscriber file without the reply to a confirmation that only the
// target address received (ezmlm's double opt-in).
//
// Interface: runListRequest(state, io, now?) -> exit code.
// Exit codes: 0 done (also: silently ignored bounces <> / #@[] and list or bulk mail, never
// answered, so no loops); 100 bad target address, unknown/used/expired token, no such list;
// 111 temporary trouble.

import { assertNever } from '../outcome.js';
import { readHeaderSection } from '../inject/split.js';
import { fatal, messageStream, queueExit, type HelperIo } from '../helpers/io.js';
import { listAddress, parseCommand, type ListCommand } from './addresses.js';
import { sendNotice } from './send.js';
import { changeSubscribers, normalizeAddress, readConfig, type ListConfig, type ListState } from './store.js';
import { consumeToken, createToken } from './tokens.js';

const MAX_HEADER = 256 * 1024;

interface Ctx { readonly state: ListState; readonly cfg: ListConfig; readonly io: HelperIo; readonly sender: string; readonly now: number }

function helpText(cfg: ListConfig): string {
  return `This is the list manager of ${cfg.address}.\n\n` +
    `To subscribe, send a message to ${listAddress(cfg, 'subscribe')}\n` +
    `To unsubscribe, send a message to ${listAddress(cfg, 'unsubscribe')}\n` +
    `Each change is confirmed by a reply to a message sent to the address concerned.\n` +
    `The list's owner is ${listAddress(cfg, 'owner')}.\n`;
}

/** Is this automatic or list mail, which a robot must never answer? */
function isAutomatic(fields: readonly string[]): boolean {
  return fields.some((f) => /^(list-id|mailing-list|auto-submitted)[ \t]*:/i.test(f) && !/^auto-submitted[ \t]*:[ \t]*no\b/i.test(f)) ||
    fields.some((f) => /^precedence[ \t]*:[ \t]*(bulk|junk|list)\b/i.test(f));
}

function fromSubject(fields: readonly string[]): ListCommand {
  const subject = fields.find((f) => /^subject[ \t]*:/i.test(f)) ?? '';
  const word = /^subject[ \t]*:\s*(\w+)/i.exec(subject)?.[1]?.toLowerCase();
  if (word === 'subscribe' || word === 'unsubscribe') return { kind: word, target: undefined };
  return { kind: 'help' };
}

async function askConfirmation(c: Ctx, action: 'subscribe' | 'unsubscribe', target: string | undefined): Promise<number> {
  const addr = normalizeAddress(target ?? c.sender);
  if (addr === undefined) return fatal(c.io, '', 100, `Sorry, ${target ?? c.sender} is not an address I can ${action}. (#5.1.3)`);
  const token = await createToken(c.state, action, addr, c.now);
  if (token.kind !== 'ok') return fatal(c.io, 'list request', 111, token.text);
  const confirm = listAddress(c.cfg, `confirm-${token.value}`);
  const text = `Someone asked to ${action} ${addr} ${action === 'subscribe' ? 'to' : 'from'} ${c.cfg.address}.\n\n` +
    `To confirm, reply to this message, or send an empty message to\n\n   ${confirm}\n\n` +
    'If you did not ask for this, ignore this message: nothing changes without your reply.\n';
  const r = await sendNotice(c.io, c.cfg, addr, `confirm ${action} to ${c.cfg.address}`, text, confirm);
  return r.kind === 'ok' ? 0 : fatal(c.io, 'list request', queueExit(r.kind), r.text);
}

async function confirm(c: Ctx, token: string): Promise<number> {
  const p = await consumeToken(c.state, token, c.now);
  if (p.kind !== 'ok') return fatal(c.io, '', queueExit(p.kind), `${p.text} (#${p.status})`);
  const { action, address } = p.value;
  const changed = await changeSubscribers(c.state, (cur) => {
    const rest = cur.filter((a) => a !== address);
    return action === 'subscribe' ? [...rest, address] : rest;
  });
  if (changed.kind !== 'ok') return fatal(c.io, 'list request', 111, changed.text);
  const text = action === 'subscribe'
    ? `${address} is now subscribed to ${c.cfg.address}.\n\n${helpText(c.cfg)}`
    : `${address} is no longer subscribed to ${c.cfg.address}.\n`;
  const r = await sendNotice(c.io, c.cfg, address, `${action === 'subscribe' ? 'welcome to' : 'goodbye from'} ${c.cfg.address}`, text);
  return r.kind === 'ok' ? 0 : fatal(c.io, 'list request', queueExit(r.kind), r.text);
}

/** Handles one message to a list command address. */
export async function runListRequest(state: ListState, io: HelperIo, now = Date.now()): Promise<number> {
  const sender = io.env['SENDER'];
  if (sender === undefined) return fatal(io, '', 100, 'list request: usage: run from a .qmail file (SENDER not set)');
  const cfg = await readConfig(state);
  if (cfg.kind !== 'ok') return fatal(io, 'list request', queueExit(cfg.kind), cfg.text);
  if (sender === '' || sender === '#@[]') return 0;
  const section = await readHeaderSection(messageStream(io.stdinFd, false)[Symbol.asyncIterator](), MAX_HEADER);
  const fields = section.kind === 'ok' ? section.value.fields : [];
  if (isAutomatic(fields)) return 0;
  const c: Ctx = { state, cfg: cfg.value, io, sender, now };
  let cmd = parseCommand(io.env['DEFAULT'] ?? '');
  if (cmd.kind === 'request') cmd = fromSubject(fields);
  switch (cmd.kind) {
    case 'subscribe': case 'unsubscribe':
      return askConfirmation(c, cmd.kind, cmd.target);
    case 'confirm':
      return confirm(c, cmd.token);
    case 'request': case 'help': case 'unknown': {
      const r = await sendNotice(io, cfg.value, sender, `help for ${cfg.value.address}`, helpText(cfg.value));
      return r.kind === 'ok' ? 0 : fatal(io, 'list request', queueExit(r.kind), r.text);
    }
    default:
      return assertNever(cmd);
  }
}
