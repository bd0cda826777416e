// DKIM signing of one message (RFC 6376, RFC 8463 Ed25519, RFC 8301) through mailauth:
// relaxed/relaxed, SHA-256, one signature per key of the signing domain.
//
// Interface: signMessage(keyring, source, opts?) -> Promise<Outcome<string>>: the
// DKIM-Signature fields to put in front of the message, LF line ends (the queue's), '' when
// no key applies. The signing domain is the From field's domain (the first address with a
// key), else opts.fallbackDomain (the envelope sender's domain: list posts and bounces carry
// our address there when the author's domain is not ours). fromDomains(head) is exported
// for tests. SIGNED_FIELDS is the h= list.
// Failures: a header section over MAX_HEAD bytes -> perm 5.3.4; a read error -> temp 4.3.0;
// mailauth refusing a key or failing to sign -> temp 4.3.5 (a configuration problem; the
// message waits rather than leaving unsigned). A message without From is not signed ('').
// Guarantees: the source is read to its end exactly once (a caller's stream never stalls);
// only the header section is held in memory, the body is hashed chunk by chunk as Buffers
// and never becomes a JS string; what is hashed is the bytes as given (no rewriting).

import { Readable } from 'node:stream';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import { rewriteAddressList } from '../inject/addrlist.js';
import { tokenize, unquote } from '../inject/token822.js';
import { ok, perm, temp, type Outcome } from '../outcome.js';
import type { DkimKey, Keyring } from './keyring.js';

/** RFC 6376 §5.4.1's recommended fields, the MIME ones, and RFC 8058's List-Unsubscribe-Post. */
export const SIGNED_FIELDS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'Content-ID', 'Content-Description', 'Resent-Date', 'Resent-From', 'Resent-Sender',
  'Resent-To', 'Resent-Cc', 'Resent-Message-ID', 'In-Reply-To', 'References', 'List-Id', 'List-Help',
  'List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
];

/** Bound on the header section held while the signing domain is found. */
export const MAX_HEAD = 1024 * 1024;

export interface SignOptions {
  /** Domain whose keys sign when no From domain has one. */
  readonly fallbackDomain?: string;
  /** Signing time (t=); default now. */
  readonly now?: Date;
}

type Source = AsyncIterable<Uint8Array>;

/** The header section read so far and the iterator holding the rest. */
interface Peeked {
  readonly head: Buffer;
  readonly rest: AsyncIterator<Uint8Array>;
}

/** Offset of the blank line ending the header section in `head` (searching from `from`), or -1. */
function headerEnd(head: Buffer, from = 0): number {
  if (head[0] === 0x0a || (head[0] === 0x0d && head[1] === 0x0a)) return 0;
  const at = Math.max(0, from - 2);
  const lf = head.indexOf('\n\n', at);
  const crlf = head.indexOf('\n\r\n', at);
  return lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
}

/** Reads chunks until the blank line ending the header section (or the end) is inside `head`. */
async function peekHead(source: Source): Promise<Outcome<Peeked>> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return ok({ head, rest: it });
      const from = head.length;
      head = Buffer.concat([head, r.value]);
      if (headerEnd(head, from) >= 0) return ok({ head, rest: it });
      if (head.length > MAX_HEAD) return perm('5.3.4', `header section longer than ${MAX_HEAD} bytes`);
    }
  } catch (err) {
    return temp('4.3.0', `read error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The domains of the From field's addresses, in order (lowercased; none when unparsable). */
export function fromDomains(head: Buffer): string[] {
  const end = headerEnd(head);
  const text = head.toString('latin1', 0, end < 0 ? head.length : end + 1);
  const field = /(?:^|\n)(from[ \t]*:[^\n]*(?:\r?\n[ \t][^\n]*)*)/i.exec(text)?.[1];
  const tokens = field === undefined ? undefined : tokenize(field.replace(/\r?\n/g, ' '));
  const domains: string[] = [];
  if (tokens) {
    rewriteAddressList(tokens, (a) => {
      const addr = unquote(a);
      const at = addr.lastIndexOf('@');
      if (at > 0) domains.push(addr.slice(at + 1).toLowerCase());
      return a;
    });
  }
  // rewriteAddressList reads right to left.
  return domains.reverse();
}

function keysFor(ring: Keyring, head: Buffer, fallback: string | undefined): readonly DkimKey[] {
  for (const d of fromDomains(head)) {
    const keys = ring.forDomain(d);
    if (keys.length > 0) return keys;
  }
  return fallback ? ring.forDomain(fallback) : [];
}

async function* chain(head: Buffer, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head.length > 0) yield head;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

async function drain(rest: AsyncIterator<Uint8Array>): Promise<void> {
  while (!(await rest.next()).done);
}

/** The DKIM-Signature fields for the message read from `source`. */
export async function signMessage(ring: Keyring, source: Source, opts: SignOptions = {}): Promise<Outcome<string>> {
  const peeked = await peekHead(source);
  if (peeked.kind !== 'ok') return peeked;
  const { head, rest } = peeked.value;
  const keys = ring.size === 0 ? [] : keysFor(ring, head, opts.fallbackDomain);
  try {
    if (keys.length === 0) {
      await drain(rest);
      return ok('');
    }
    return await sign(keys, Readable.from(chain(head, rest)), opts.now ?? new Date());
  } catch (err) {
    return temp('4.3.0', `read error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function sign(keys: readonly DkimKey[], input: Readable, now: Date): Promise<Outcome<string>> {
  const signatureData = keys.map((k) => ({
    signingDomain: k.domain, selector: k.selector, privateKey: k.pem, algorithm: `${k.algorithm}-sha256`,
  }));
  // mailauth's type wants a top-level key; with signatureData it signs only those.
  const options = { canonicalization: 'relaxed/relaxed', headerList: SIGNED_FIELDS, signTime: now, signatureData } as unknown as DKIMSignOptions;
  const r = await dkimSign(input, options);
  const failed = r.errors[0] as { err?: Error; selector?: string; signingDomain?: string } | undefined;
  if (failed) {
    if ((failed.err as { code?: string } | undefined)?.code === 'ENOFROM') return ok('');
    return temp('4.3.5', `DKIM signing as ${failed.signingDomain} ${failed.selector} failed: ${failed.err?.message ?? 'unknown error'}`);
  }
  return ok(r.signatures.replace(/\r\n/g, '\n'));
}
