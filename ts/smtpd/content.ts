// The end of a message on the policy side, before it is made durable: the checks of a
// stranger's mail (DKIM, ARC, DMARC: one Authentication-Results field, and the DMARC policy
// when control/dmarcreject asks), the application's DATA hooks, and the DKIM signature of
// mail from relay clients and authenticated users. Asked by the core only for transactions
// whose MAIL answer said so (wantsContent), so mail nobody reads never crosses into JS.
//
// Interface: wantsContent(deps, stranger) at MAIL; decideData(deps, input) -> the answer:
// 250 with the header lines to prepend (Authentication-Results, DKIM-Signature) and, for a
// stranger's mail, the authserv-id whose forged results the core leaves out; or a refusal.
// Order: qmta's own checks first (inbound checks), then the hooks, then signing.
// Failures: a check or the signer failing temporarily -> 451 (never a 5xx, never a 250 for
// mail that would leave unsigned by accident); a hook's failure is the runner's 451 4.3.0;
// the streams are read from the core by position, each reader its own.

import { Readable } from 'node:stream';
import type { SubmissionSigner } from '../dkim/submission.js';
import type { HookRunner, HookSession } from '../hooks/index.js';
import type { DataCheck } from '../inbound/data.js';
import type { SpfVerdict } from '../inbound/mail-from.js';
import type { CheckContext } from '../inbound/settings.js';
import type { MessageContent, SmtpAnswer } from '../native.js';
import { describe } from '../outcome.js';

export interface ContentDeps {
  /** Inbound checks of a stranger's message (ts/inbound/data.ts). */
  readonly checkData?: DataCheck;
  readonly hooks?: HookRunner;
  /** DKIM signing of relay and authenticated mail, when keys are configured. */
  readonly sign?: { readonly enabled: () => boolean; readonly signer: SubmissionSigner };
}

export interface DataInput {
  readonly content: MessageContent;
  readonly stranger: boolean;
  readonly check: CheckContext & { readonly spf: SpfVerdict | undefined };
  readonly session: HookSession;
  readonly recipients: readonly string[];
}

const CHUNK = 64 * 1024;

/** Whether this transaction's message must be read before it is accepted. */
export function wantsContent(deps: ContentDeps, stranger: boolean): boolean {
  if (deps.hooks?.has('data')) return true;
  return stranger ? deps.checkData !== undefined : deps.sign?.enabled() === true;
}

/** The message as a stream of its own (the Received line first, LF line ends). */
export function contentStream(content: MessageContent): Readable {
  let position = 0;
  return new Readable({
    read() {
      const chunk = content.readAt(position, CHUNK);
      position += chunk.length;
      this.push(chunk.length > 0 ? chunk : null);
    },
  });
}

const reply = (code: number, status: string, text: string): SmtpAnswer => ({ code, status, text });

/** The end-of-message decision; see the header. */
export async function decideData(deps: ContentDeps, input: DataInput): Promise<SmtpAnswer> {
  try {
    return await decide(deps, input);
  } finally {
    input.content.release();
  }
}

async function decide(deps: ContentDeps, input: DataInput): Promise<SmtpAnswer> {
  let header = '';
  let dropAuthserv: string | undefined;
  if (input.stranger && deps.checkData) {
    const r = await deps.checkData(input.check, contentStream(input.content));
    if (r.reply) return r.reply;
    [header, dropAuthserv] = [r.prepend, r.drop.authservId];
  }
  if (deps.hooks?.has('data')) {
    const d = await deps.hooks.data(input.session, { size: input.content.size, open: () => contentStream(input.content) });
    if (d.kind === 'reply') return d.reply;
  }
  if (!input.stranger && deps.sign?.enabled()) {
    const signed = await deps.sign.signer(contentStream(input.content), { sender: input.check.sender, recipients: input.recipients });
    if (signed.kind !== 'ok') {
      return signed.kind === 'temp' ? reply(451, '4.3.0', `local error signing the message: ${describe(signed)}`) : reply(554, signed.status, signed.text);
    }
    header = signed.value + header;
  }
  return { ...reply(250, '2.0.0', 'ok'), header: Buffer.from(header), ...(dropAuthserv !== undefined ? { dropAuthserv } : {}) };
}
