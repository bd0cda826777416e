// The check at MAIL FROM: SPF (RFC 7208, mailauth) of a stranger's envelope sender, with the
// HELO identity when the sender is <> (RFC 7208 §2.4), and the policy's answer.
//
// Interface: createMailFromCheck(settings, deps?) -> MailFromCheck:
//   (ctx) => Promise<{ spf: SpfVerdict | undefined; reply?: CheckReply }>
// spf is undefined for relay clients and authenticated users (not checked); reply is set only
// when control/spfreject is on and the result acts: fail -> 550 5.7.23; temperror -> 451 4.7.24
// (RFC 7372). Every other result (pass, softfail, neutral, none, permerror) is marked only.
// mailauth's strict mode: RFC 7208 exactly (void lookups counted per query, the A-R names the
// identity checked: smtp.mailfrom=domain, or smtp.helo for <>).
// Bounds: 10 DNS-querying mechanisms and 2 void lookups (RFC 7208 §4.6.4; more is permerror),
// the whole evaluation within control/authtimeout (past it: temperror), each query bounded
// (settings.ts). A DNS failure is temperror, never a 5xx.
// Failures: none thrown; mailauth's errors become temperror.

import { spf } from 'mailauth';
import { createAuthResolver, isStranger, type AuthResolver, type CheckContext, type CheckReply, type InboundSettings } from './settings.js';

export interface SpfVerdict {
  /** pass, fail, softfail, neutral, none, temperror or permerror. */
  readonly result: string;
  /** The Authentication-Results resinfo ("spf=pass (...) smtp.mailfrom=..."). */
  readonly info: string;
  /** The domain checked (the sender's, or HELO's for <>). */
  readonly domain: string;
}

export type MailFromCheck = (ctx: CheckContext) => Promise<{ readonly spf: SpfVerdict | undefined; readonly reply?: CheckReply }>;

export interface MailFromDeps {
  /** Default: node:dns on settings().dnsServers. */
  readonly resolver?: AuthResolver;
}

/** The MAIL FROM check over the settings in force (read per call: SIGHUP applies at once). */
export function createMailFromCheck(settings: () => InboundSettings, deps: MailFromDeps = {}): MailFromCheck {
  return async (ctx) => {
    if (!isStranger(ctx)) return { spf: undefined };
    const s = settings();
    const verdict = await checkSpf(ctx, s, deps.resolver ?? createAuthResolver(s.dnsServers, s.timeoutMs));
    const reply = s.spfReject ? spfReply(verdict) : undefined;
    return reply ? { spf: verdict, reply } : { spf: verdict };
  };
}

async function checkSpf(ctx: CheckContext, s: InboundSettings, resolver: AuthResolver): Promise<SpfVerdict> {
  try {
    const r = await spf({
      sender: ctx.sender, ip: ctx.ip, helo: ctx.helo, mta: s.authservId, resolver,
      maxResolveCount: 10, maxVoidCount: 2, maxElapsedTime: s.timeoutMs, strict: true,
    });
    return { result: r.status.result, info: r.info, domain: r.domain };
  } catch (err) {
    const domain = ctx.sender.slice(ctx.sender.lastIndexOf('@') + 1) || ctx.helo;
    return { result: 'temperror', info: `spf=temperror (${String((err as Error).message).replace(/[()\\]/g, '')}) smtp.mailfrom=${domain}`, domain };
  }
}

/** What spfreject does with a result. */
export function spfReply(v: SpfVerdict): CheckReply | undefined {
  if (v.result === 'fail') return { code: 550, status: '5.7.23', text: `SPF check failed: ${v.domain} does not allow this host to send its mail` };
  if (v.result === 'temperror') return { code: 451, status: '4.7.24', text: `SPF check of ${v.domain} failed temporarily (DNS); try again later` };
  return undefined;
}
