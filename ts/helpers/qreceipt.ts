// qreceipt (qmail's qreceipt(1)): `|qreceipt myaddress` answers a
// Notice-Requested-Upon-Delivery-To field that lists exactly myaddress with a success notice
// to $SENDER (envelope sender <>), unless the sender is <> or #@[] (never answer bounces).
//
// Interface: runQreceipt(args, io) -> exit code.
// Exit codes: 0 notice queued or none due; 100 usage (no address, SENDER unset), an
// unparsable Notice-Requested-Upon-Delivery-To field, or a permanent queue failure; 111 read
// error or temporary queue failure.
// Guarantees: only the header section is read (bounded, 1 MiB: past that, no notice).

import { Readable } from 'node:stream';
import { rewriteAddressList } from '../inject/addrlist.js';
import { fieldName } from '../inject/fields.js';
import { quoteAddress } from '../inject/quote.js';
import { readHeaderSection } from '../inject/split.js';
import { binary, tokenize, unquote } from '../inject/token822.js';
import { fatal, messageStream, queueCopy, queueExit, type HelperIo } from './io.js';

const MAX_HEADER = 1024 * 1024;

/** True when a notice field names target exactly; undefined when the field does not parse. */
function namesTarget(field: string, target: string): boolean | undefined {
  let found = false;
  const tokens = tokenize(field);
  const r = tokens && rewriteAddressList(tokens, (a) => {
    if (unquote(a) === target) found = true;
    return a;
  });
  return r ? found : undefined;
}

/** The notice as binary text (token822.ts): sender and target are JS text, the Message-ID field binary. */
function notice(sender: string, target: string, messageId: string | undefined): string {
  const q = quoteAddress(binary(sender));
  return `From: DELIVERY NOTICE SYSTEM <${q}>\nTo: <${q}>\nSubject: success notice\n\n` +
    'Hi! This is the qreceipt program. Your message was delivered to the\n' +
    `following address: ${binary(target)}. Thanks for asking.\n` + (messageId !== undefined ? `Your ${messageId}` : '');
}

/** Runs qreceipt with its argument. */
export async function runQreceipt(args: readonly string[], io: HelperIo): Promise<number> {
  const target = args[0];
  const sender = io.env['SENDER'];
  if (target === undefined || sender === undefined) return fatal(io, '', 100, 'qreceipt: usage: qreceipt deliveryaddress');
  const section = await readHeaderSection(messageStream(io.stdinFd, false)[Symbol.asyncIterator](), MAX_HEADER);
  if (section.kind === 'temp') return fatal(io, 'qreceipt', 111, 'read error');
  if (section.kind !== 'ok') return 0;
  let wanted = false;
  let messageId: string | undefined;
  for (const f of section.value.fields) {
    const name = fieldName(f);
    if (name === 'message-id') messageId = f;
    if (name !== 'notice-requested-upon-delivery-to') continue;
    const named = namesTarget(f, binary(target));
    if (named === undefined) return fatal(io, 'qreceipt', 100, `unable to parse this: ${f.trimEnd()}`);
    wanted ||= named;
  }
  if (!wanted || sender === '' || sender === '#@[]') return 0;
  const body = Readable.from([Buffer.from(notice(sender, target, messageId), 'latin1')]);
  const r = await queueCopy(io, '', body, { sender: '', recipients: [sender] });
  if (r.kind !== 'ok') return fatal(io, 'qreceipt', queueExit(r.kind), `${r.kind === 'perm' ? 'permanent' : 'temporary'} queue error: ${r.text}`);
  return 0;
}
