// The check at the end of DATA for a stranger's message (neither a relay client nor
// authenticated): DKIM (every signature, RFC 6376/8463), ARC (RFC 8617), DMARC (RFC 7489, and
// RFC 9989 where mailauth has it; organizational domains from the Public Suffix List that
// mailauth ships, through tldts), with the SPF verdict from MAIL FROM; one
// Authentication-Results field (RFC 8601) with our authserv-id; the DMARC policy's answer.
//
// Interface: createDataCheck(settings, deps?) -> DataCheck:
//   (ctx & { spf }, message: Readable) => Promise<DataResult>
//   DataResult { prepend, reply?, drop }: `prepend` is the Authentication-Results field (LF
//   line ends, '' when nothing was checked); `reply` is set only when control/dmarcreject is
//   on and DMARC acts: fail under p=reject (not t=y/pct-sampled) -> 550 5.7.1, temperror ->
//   451 4.7.1; p=quarantine and everything else are marked only. `drop` tells the core which
//   fields to remove as it writes the message: every Authentication-Results field whose
//   authserv-id (claimsAuthservId) is ours, wherever it came from (RFC 8601 §5).
// mailauth runs in its strict mode: RFC 6376/7208/8617/8601 as written (a body hash mismatch
// is dkim=fail, rsa-sha1 is dkim=policy, A-R reports header.d).
// budgeted(resolver, deadline, now) is the per-message DNS bound (ARC sealing uses it too).
// Bounds: DNS within control/authtimeout in all and at most MAX_QUERIES queries a message
// (a message with a thousand signatures costs no more); past either, the queries fail and
// their checks are temperror. The body is hashed as it streams (mailauth keeps the header
// section only); the stream is always read to its end.
// Failures: none thrown; a check that breaks is reported as temperror in the field.

import type { Readable } from 'node:stream';
import { arc, dkimVerify, type ARCResult, type DKIMVerifyResult } from 'mailauth';
import { evaluateDmarc } from 'mailauth/lib/dmarc/index.js';
import type { SpfVerdict } from './mail-from.js';
import { createAuthResolver, isStranger, type AuthResolver, type CheckContext, type CheckReply, type InboundSettings } from './settings.js';

/** DNS queries one message's DKIM, ARC and DMARC checks may make. */
export const MAX_QUERIES = 50;

export interface DataResult {
  readonly prepend: string;
  readonly reply?: CheckReply;
  /** Fields the core removes while writing the message (see claimsAuthservId). */
  readonly drop: { readonly field: 'Authentication-Results'; readonly authservId: string };
}

export type DataCheck = (ctx: CheckContext & { readonly spf: SpfVerdict | undefined }, message: Readable) => Promise<DataResult>;

export interface DataDeps {
  readonly resolver?: AuthResolver;
  readonly now?: () => number;
}

/** The end-of-DATA check over the settings in force. */
export function createDataCheck(settings: () => InboundSettings, deps: DataDeps = {}): DataCheck {
  return async (ctx, message) => {
    const s = settings();
    const drop = { field: 'Authentication-Results', authservId: s.authservId } as const;
    if (!isStranger(ctx)) {
      await drain(message);
      return { prepend: '', drop };
    }
    const now = deps.now ?? Date.now;
    const resolver = budgeted(deps.resolver ?? createAuthResolver(s.dnsServers, s.timeoutMs), now() + s.timeoutMs, now);
    const r = await checkMessage(ctx, message, resolver);
    const reply = s.dmarcReject ? dmarcReply(r.dmarc) : undefined;
    const prepend = formatResults(s.authservId, [...r.dkim, ctx.spf?.info, r.arc, r.dmarc.info]);
    return reply ? { prepend, reply, drop } : { prepend, drop };
  };
}

async function drain(message: Readable): Promise<void> {
  for await (const _ of message);
}

/** A resolver that answers nothing past `deadline` or after MAX_QUERIES queries (temperror). */
export function budgeted(base: AuthResolver, deadline: number, now: () => number): AuthResolver {
  let left = MAX_QUERIES;
  return (name, type) => {
    if (left-- <= 0 || now() >= deadline) return Promise.reject(Object.assign(new Error('DNS budget of this message spent'), { code: 'ETIMEOUT' }));
    return base(name, type);
  };
}

interface Checked {
  readonly dkim: string[];
  readonly arc: string | undefined;
  readonly dmarc: DmarcOutcome;
}

interface DmarcOutcome {
  readonly result: string;
  readonly policy: string | undefined;
  readonly testMode: boolean;
  readonly info: string | undefined;
  readonly domain: string | undefined;
}

async function checkMessage(ctx: CheckContext & { spf: SpfVerdict | undefined }, message: Readable, resolver: AuthResolver): Promise<Checked> {
  let dkim: DKIMVerifyResult;
  try {
    dkim = await dkimVerify(message, { resolver, sender: ctx.sender, strict: true });
  } catch (err) {
    await drain(message).catch(() => undefined);
    const why = String((err as Error).message).replace(/[()\\]/g, '');
    return { dkim: [`dkim=temperror (${why})`], arc: undefined, dmarc: { result: 'temperror', policy: undefined, testMode: false, info: `dmarc=temperror (${why})`, domain: undefined } };
  }
  // mailauth's types describe the signer's ARC data; the verifier hands over the chain it read.
  const arcResult = dkim.arc ? await arc(dkim.arc as unknown as Parameters<typeof arc>[0], { resolver, strict: true, ip: ctx.ip } as Parameters<typeof arc>[1]).catch(() => undefined) : undefined;
  const dmarc = await checkDmarc(dkim, ctx.spf, arcResult, resolver);
  return { dkim: dkim.results.map((x) => x.info), arc: arcResult?.info, dmarc };
}

async function checkDmarc(dkim: DKIMVerifyResult, spf: SpfVerdict | undefined, arcResult: ARCResult | undefined, resolver: AuthResolver): Promise<DmarcOutcome> {
  try {
    const { response } = await evaluateDmarc({
      headerFrom: dkim.headerFrom, fromFields: dkim.fromFields, resolver, strict: true,
      spfDomains: spf?.result === 'pass' ? [spf.domain] : [],
      dkimDomains: dkim.results.filter((x) => x.status.result === 'pass')
        .map((x) => ({ id: x.id, domain: x.signingDomain ?? '', aligned: x.status.aligned, underSized: x.status.underSized })),
      ...(arcResult ? { arcResult } : {}),
    });
    if (!response) return { result: 'none', policy: undefined, testMode: false, info: undefined, domain: undefined };
    return { result: response.status.result, policy: response.policy, testMode: response.testMode, info: response.info, domain: response.domain };
  } catch (err) {
    return { result: 'temperror', policy: undefined, testMode: false, info: `dmarc=temperror (${String((err as Error).message).replace(/[()\\]/g, '')})`, domain: undefined };
  }
}

/** What dmarcreject does with a DMARC outcome. */
export function dmarcReply(d: DmarcOutcome): CheckReply | undefined {
  if (d.result === 'fail' && d.policy === 'reject' && !d.testMode) {
    return { code: 550, status: '5.7.1', text: `Rejected by the DMARC policy of ${d.domain ?? 'the From domain'}` };
  }
  if (d.result === 'temperror') return { code: 451, status: '4.7.1', text: 'DMARC check failed temporarily (DNS); try again later' };
  return undefined;
}

/** One Authentication-Results field, LF line ends, a resinfo per line (RFC 8601 §2.2). */
export function formatResults(authservId: string, results: readonly (string | undefined)[]): string {
  const kept = results.filter((r): r is string => r !== undefined && r !== '').map((r) => r.replace(/\r?\n/g, '\n'));
  return `Authentication-Results: ${authservId}${kept.length === 0 ? '; none' : kept.map((r) => `;\n\t${r}`).join('')}\n`;
}

/**
 * True when an Authentication-Results field value (after the colon) claims `authservId`:
 * its first token, past comments and white space, compared without case (RFC 8601 §2.2,
 * §5). The core applies this rule to every Authentication-Results field it writes.
 */
export function claimsAuthservId(value: string, authservId: string): boolean {
  const stripped = value.replace(/\([^()]*\)/g, ' ').trimStart();
  const token = /^[^\s;]+/.exec(stripped)?.[0] ?? '';
  return token.toLowerCase() === authservId.toLowerCase();
}
