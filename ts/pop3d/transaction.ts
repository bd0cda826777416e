// The TRANSACTION state (RFC 1939 §5): STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET.
//
// Interface: transact(drop, store, out, verb, args) -> Promise<boolean> (false = verb
// unknown here; the session answers it). QUIT is the session's (it leads to UPDATE).
// Replies follow RFC 1939 rather than qmail-pop3d where they differ: STAT counts
// neither deleted messages nor their octets (qmail counted them), TOP needs both
// arguments, no extra empty line is sent before the terminator, LAST is not offered.
// Failures: bad message number -> "-ERR no such message"; deleted -> "-ERR message N
// already deleted"; file gone (another reader) -> "-ERR [SYS/PERM] message N vanished";
// a read error after "+OK" was sent cannot be reported in-band: the connection is
// dropped so the client never takes a partial message for a whole one.
// Guarantees: RETR/TOP stream through the core's encoder chunk by chunk with socket
// back-pressure, so memory does not grow with the message size; LIST/UIDL of a large
// maildrop are written in bounded batches.

import type { Maildrop, Message } from './maildrop.js';
import type { MaildropStore } from './store.js';

export interface Output {
  write(data: string | Buffer): Promise<void>;
  destroy(): void;
  readonly closed: boolean;
}

/** Reply text batch size for multi-line listings. */
const BATCH = 32 * 1024;

/** Runs one TRANSACTION-state command; false when `verb` is not one of them. */
export async function transact(drop: Maildrop, store: MaildropStore, out: Output, verb: string, args: string[]): Promise<boolean> {
  switch (verb) {
    case 'STAT':
      await out.write(args.length ? '-ERR syntax error\r\n' : stat(drop));
      return true;
    case 'LIST':
    case 'UIDL':
      await listing(drop, out, verb, args);
      return true;
    case 'RETR':
    case 'TOP':
      await retrieve(drop, store, out, verb, args);
      return true;
    case 'DELE':
      await out.write(dele(drop, args));
      return true;
    case 'NOOP':
      await out.write('+OK\r\n');
      return true;
    case 'RSET':
      for (const m of drop.messages) m.deleted = false;
      await out.write(`+OK maildrop has ${stat(drop).slice(4)}`);
      return true;
    default:
      return false;
  }
}

function stat(drop: Maildrop): string {
  let count = 0;
  let octets = 0;
  for (const m of drop.messages) {
    if (m.deleted) continue;
    count++;
    octets += m.size;
  }
  return `+OK ${count} ${octets}\r\n`;
}

/** The message an argument names, or the -ERR reply explaining why there is none. */
function pick(drop: Maildrop, arg: string | undefined): { n: number; m: Message } | string {
  if (arg === undefined || !/^\d{1,10}$/.test(arg)) return '-ERR syntax error\r\n';
  const n = Number(arg);
  const m = drop.messages[n - 1];
  if (n < 1 || m === undefined) return `-ERR no such message, only ${drop.messages.length} messages in maildrop\r\n`;
  if (m.deleted) return `-ERR message ${n} already deleted\r\n`;
  return { n, m };
}

function dele(drop: Maildrop, args: string[]): string {
  if (args.length !== 1) return '-ERR syntax error\r\n';
  const p = pick(drop, args[0]);
  if (typeof p === 'string') return p;
  p.m.deleted = true;
  return `+OK message ${p.n} deleted\r\n`;
}

async function listing(drop: Maildrop, out: Output, verb: 'LIST' | 'UIDL', args: string[]): Promise<void> {
  const field = (m: Message): string | number => (verb === 'LIST' ? m.size : m.uid);
  if (args.length > 1) return out.write('-ERR syntax error\r\n');
  if (args.length === 1) {
    const p = pick(drop, args[0]);
    return out.write(typeof p === 'string' ? p : `+OK ${p.n} ${field(p.m)}\r\n`);
  }
  let text = verb === 'LIST' ? `+OK ${stat(drop).slice(4, -2)} messages\r\n` : '+OK\r\n';
  for (let i = 0; i < drop.messages.length; i++) {
    const m = drop.messages[i] as Message;
    if (!m.deleted) text += `${i + 1} ${field(m)}\r\n`;
    if (text.length >= BATCH) {
      await out.write(text);
      text = '';
    }
  }
  await out.write(`${text}.\r\n`);
}

async function retrieve(drop: Maildrop, store: MaildropStore, out: Output, verb: 'RETR' | 'TOP', args: string[]): Promise<void> {
  const want = verb === 'RETR' ? 1 : 2;
  if (args.length !== want || (verb === 'TOP' && !/^\d{1,10}$/.test(args[1] as string))) {
    return out.write('-ERR syntax error\r\n');
  }
  const p = pick(drop, args[0]);
  if (typeof p === 'string') return out.write(p);
  const bodyLines = verb === 'TOP' ? Number(args[1]) : undefined;
  const opened = store.open(drop.pathOf(p.m), bodyLines);
  if (opened.kind !== 'ok') return out.write(`-ERR [SYS/TEMP] cannot read message ${p.n}: ${opened.text}\r\n`);
  if (opened.value === undefined) return out.write(`-ERR [SYS/PERM] message ${p.n} vanished\r\n`);
  const reader = opened.value;
  try {
    await out.write(verb === 'RETR' ? `+OK ${p.m.size} octets\r\n` : '+OK\r\n');
    while (!out.closed) {
      const chunk = reader.next();
      if (chunk.kind !== 'ok') return out.destroy();
      if (chunk.value === null) return;
      await out.write(chunk.value);
    }
  } finally {
    reader.close();
  }
}
