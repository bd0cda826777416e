// qmail-inject's header fixup as one pure function: from the header fields, the options and
// the environment to the new header section, the envelope sender and the recipients.
//
// Interface: fixupHeader(input) -> Outcome<FixupResult>. Pure and serialisable both ways, so it
// runs in a tinypool worker as well as inline.
// What it does (reference/qmail.md §9.3-9.5): address fields (To, Cc, Bcc, Apparently-To, From,
// Sender, Reply-To, Return-Receipt-To, Errors-To and the Resent- forms) are re-emitted with
// every address completed and lists folded at 80 columns, old-style lists get commas; Bcc,
// Resent-Bcc, Return-Path and Content-Length are removed; Date, Message-ID, From and "Cc:
// recipient list not shown: ;" are added when missing (their Resent- forms for a resent
// message), before the original fields; Mail-Followup-To from QMAILMFTFILE's list.
// Failures (all perm, exit 100): unparsable -f or command-line recipient (5.1.3), unparsable
// Return-Path/From/Sender-type field or default From (5.3.5), bad control values (5.3.5).
// An empty recipient list is the caller's to refuse (-n prints such a message).
// Departures from qmail, each deliberate: an unparsable recipient field gives no recipients at
// all (qmail may keep the ones it read before the error); recipients keep reading order (qmail
// reverses within a field); empty recipient addresses are dropped; "-f '<>'" means the empty
// sender (qmail would complete "<>" as a local part).
// Text: the header is binary text (token822.ts); the request, identity and controls arrive as
// JS text and are turned into binary text (their UTF-8 bytes) so both mix; the envelope goes
// back to JS text, and an envelope address whose bytes are not UTF-8 (Latin-1 in a To: field)
// is refused, perm 5.6.7, rather than queued garbled (RFC 6531/6532 addresses are UTF-8).

import { ok, perm, type Outcome } from '../outcome.js';
import { rewriteAddressList } from './addrlist.js';
import { completeAddress, parseCompletion, type Completion } from './complete.js';
import { fieldName, isValidField, type KnownField } from './fields.js';
import type { Identity, InjectControls } from './identity.js';
import { dateField, defaultFrom, defaultSender, LINE_LENGTH, messageIdField } from './newfields.js';
import { quoteAddress } from './quote.js';
import { binary, fromBinary, tokenize, unparse, unquote, type Token } from './token822.js';

/** -a args only, -h header only, -H both, -A (default) args if any else header. */
export type RecipientStrategy = 'default' | 'args' | 'header' | 'both';

/** What the caller asked for: the command line's recipients, strategy and -f. */
export interface FixupRequest {
  readonly args: readonly string[];
  readonly strategy: RecipientStrategy;
  /** The -f argument as given. */
  readonly sender?: string;
}

/** Who injects, and when: shared by every message of one injector. */
export interface FixupSetting {
  readonly identity: Identity;
  readonly controls: InjectControls;
  /** QMAILMFTFILE's mailing-list addresses. */
  readonly mft?: readonly string[];
  readonly nowMs: number;
  readonly pid: number;
  /** Uniqueness part of the Message-ID: the pid, or "<pid>.<n>" in a long-running process. */
  readonly idTag: string;
}

export interface FixupInput extends FixupRequest, FixupSetting {
  readonly fields: readonly string[];
  /** -n: start the header with "Return-Path: <sender>". */
  readonly printReturnPath?: boolean;
}

export interface FixupResult {
  /** The new header section, latin1 text; the body follows it unchanged. */
  readonly header: string;
  readonly sender: string;
  readonly recipients: string[];
}

type Rewrite = 'tocc' | 'recipient' | 'resent' | 'return' | 'sender';

const REWRITE: Partial<Record<KnownField, Rewrite>> = {
  to: 'tocc', cc: 'tocc', bcc: 'recipient', 'apparently-to': 'recipient',
  'resent-to': 'resent', 'resent-cc': 'resent', 'resent-bcc': 'resent',
  'return-path': 'return',
  sender: 'sender', from: 'sender', 'reply-to': 'sender', 'return-receipt-to': 'sender',
  'errors-to': 'sender', 'resent-sender': 'sender', 'resent-from': 'sender', 'resent-reply-to': 'sender',
};
const DROPPED: ReadonlySet<KnownField> = new Set<KnownField>(['bcc', 'resent-bcc', 'return-path', 'content-length']);
const RESENT: readonly KnownField[] = [
  'resent-sender', 'resent-from', 'resent-reply-to', 'resent-to', 'resent-cc', 'resent-bcc',
  'resent-date', 'resent-message-id',
];

/** Everything learnt while reading the fields. */
interface State {
  readonly c: Completion;
  readonly input: FixupInput;
  readonly seen: Set<KnownField>;
  readonly saved: string[];
  readonly headerRecips: string[];
  readonly resentRecips: string[];
  readonly toCc: string[];
  sender: string | undefined;
}

/** Parses and completes one address given as text (-f or a command-line recipient). */
function completeText(text: string, c: Completion): string | undefined {
  const tokens = tokenize(quoteAddress(text));
  return tokens && unquote(completeAddress(tokens, c));
}

/** Records the envelope sender from a Return-Path address unless one is already set. */
function setReturn(s: State, address: string): void {
  if (s.sender !== undefined) return;
  s.sender = address + (s.input.identity.flags.verpRecipient ? '-@[]' : '');
}

/** Rewrites the addresses of one field; undefined when the field does not parse. */
function rewriteField(s: State, field: string, kind: Rewrite): { text: string; addrs: string[] } | undefined {
  const tokens = tokenize(field);
  const addrs: string[] = [];
  const rewritten = tokens && rewriteAddressList(tokens, (a: readonly Token[]) => {
    const done = completeAddress(a, s.c);
    addrs.push(unquote(done));
    return done;
  });
  if (!rewritten) return undefined;
  // The callback saw the addresses right to left: qmail's sender is the first one it saw.
  if (kind === 'return' && addrs[0] !== undefined) setReturn(s, addrs[0]);
  return { text: unparse(rewritten, LINE_LENGTH), addrs: addrs.reverse() };
}

function keepRecipients(s: State, kind: Rewrite, addrs: readonly string[]): void {
  const real = addrs.filter((a) => a !== '');
  if (kind === 'resent') s.resentRecips.push(...real);
  if (kind === 'tocc' || kind === 'recipient') s.headerRecips.push(...real);
  if (kind === 'tocc') s.toCc.push(...real);
}

function skipped(s: State, name: KnownField | undefined): boolean {
  const f = s.input.identity.flags;
  return (f.deleteFrom && name === 'from') || (f.deleteMessageId && name === 'message-id') ||
    (f.deleteReturnPath && name === 'return-path');
}

/** One header field, as qmail-inject's doheaderfield. */
function doField(s: State, field: string): Outcome<void> {
  const name = fieldName(field);
  if (skipped(s, name)) return ok(undefined);
  if (name !== undefined) s.seen.add(name);
  else if (!isValidField(field)) return perm('5.6.0', `invalid header field: ${field.trimEnd()}`);
  const kind = name && REWRITE[name];
  let text = field;
  if (kind !== undefined) {
    const r = rewriteField(s, field, kind);
    const mayFail = kind === 'tocc' || kind === 'recipient' || kind === 'resent';
    if (r === undefined && !mayFail) return perm('5.3.5', `unable to parse this line: ${field.trimEnd()}`);
    if (r !== undefined) {
      keepRecipients(s, kind, r.addrs);
      text = r.text;
    }
  }
  if (name === undefined || !DROPPED.has(name)) s.saved.push(text);
  return ok(undefined);
}

function mailFollowupTo(s: State): string {
  const list = new Set((s.input.mft ?? []).map((a) => a.toLowerCase()));
  if (list.size === 0 || s.seen.has('mail-followup-to')) return '';
  if (!s.toCc.some((a) => list.has(a.toLowerCase()))) return '';
  return `Mail-Followup-To: ${s.toCc.map(quoteAddress).join(',\n  ')}\n`;
}

/** The fields to add in front, as qmail-inject's finishheader. */
function addedFields(s: State, resent: boolean): Outcome<string> {
  const { nowMs, idTag, controls, identity } = s.input;
  const pre = resent ? 'Resent-' : '';
  const has = (n: KnownField): boolean => s.seen.has((resent ? `resent-${n}` : n) as KnownField);
  let out = '';
  if (!has('date')) out += pre + dateField(nowMs);
  if (!has('message-id')) out += pre + messageIdField(nowMs, idTag, controls.idhost);
  if (!has('from')) {
    const from = defaultFrom(identity, (a) => completeAddress(a, s.c));
    if (from.kind !== 'ok') return from;
    out += pre + from.value;
  }
  if (!has('to') && !has('cc')) out += `${pre}Cc: recipient list not shown: ;\n`;
  if (!resent) out += mailFollowupTo(s);
  return ok(out);
}

function chooseRecipients(s: State, args: readonly string[], resent: boolean): string[] {
  const strategy = s.input.strategy === 'default'
    ? (s.input.args.length > 0 ? 'args' : 'header')
    : s.input.strategy;
  const fromArgs = strategy === 'header' ? [] : args.filter((a) => a !== '');
  const fromHeader = strategy === 'args' ? [] : resent ? s.resentRecips : s.headerRecips;
  return [...fromArgs, ...fromHeader];
}

function prepare(input: FixupInput, c: Completion): Outcome<{ args: string[]; sender: string | undefined }> {
  let sender: string | undefined;
  if (input.sender !== undefined) {
    sender = input.sender === '<>' ? '' : completeText(input.sender, c);
    if (sender === undefined) return perm('5.1.7', `unable to parse this line: ${input.sender}`);
  }
  const args: string[] = [];
  if (input.strategy !== 'header') {
    for (const a of input.args) {
      const done = completeText(a, c);
      if (done === undefined) return perm('5.1.3', `unable to parse address: ${a}`);
      args.push(done);
    }
  }
  return ok({ args, sender });
}

/** The request, identity and controls as binary text, like the header fields. */
function binaryInput(input: FixupInput): FixupInput {
  const b = (v: string | undefined): string | undefined => (v === undefined ? undefined : binary(v));
  const { identity: id, controls: c } = input;
  return {
    ...input,
    args: input.args.map(binary),
    sender: b(input.sender),
    identity: { ...id, user: binary(id.user), host: b(id.host), name: b(id.name), senderUser: binary(id.senderUser), senderHost: b(id.senderHost) },
    controls: { defaulthost: binary(c.defaulthost), defaultdomain: binary(c.defaultdomain), plusdomain: binary(c.plusdomain),
      idhost: binary(c.idhost), locals: c.locals.map(binary) },
    mft: input.mft?.map(binary),
  };
}

const hexByte = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** The envelope as JS text; perm 5.6.7 for an address whose bytes are not UTF-8. */
function textEnvelope(sender: string, recipients: readonly string[]): Outcome<{ sender: string; recipients: string[] }> {
  const out: string[] = [];
  for (const a of [sender, ...recipients]) {
    const text = fromBinary(a);
    if (text === undefined) return perm('5.6.7', `address is not UTF-8: ${a.replace(/[^\x20-\x7e]/g, hexByte)}`);
    out.push(text);
  }
  return ok({ sender: out[0] ?? '', recipients: out.slice(1) });
}

/** Rewrites a header section as qmail-inject does and picks the envelope. */
export function fixupHeader(raw: FixupInput): Outcome<FixupResult> {
  const input = binaryInput(raw);
  const c = parseCompletion(input.controls);
  if (c.kind !== 'ok') return c;
  const pre = prepare(input, c.value);
  if (pre.kind !== 'ok') return pre;
  const s: State = {
    c: c.value, input, seen: new Set(), saved: [], headerRecips: [], resentRecips: [], toCc: [],
    sender: pre.value.sender,
  };
  for (const f of input.fields) {
    const r = doField(s, f);
    if (r.kind !== 'ok') return r;
  }
  const resent = RESENT.some((n) => s.seen.has(n));
  if (s.sender === undefined) {
    const d = defaultSender(input.identity, input.nowMs, input.pid, (a) => {
      const done = completeAddress(a, c.value);
      setReturn(s, unquote(done));
      return done;
    });
    if (d.kind !== 'ok') return d;
  }
  const sender = s.sender ?? '';
  const added = addedFields(s, resent);
  if (added.kind !== 'ok') return added;
  const envelope = textEnvelope(sender, chooseRecipients(s, pre.value.args, resent));
  if (envelope.kind !== 'ok') return envelope;
  const returnPath = input.printReturnPath ? `Return-Path: <${quoteAddress(sender)}>\n` : '';
  return ok({ header: returnPath + added.value + s.saved.join(''), ...envelope.value });
}
