// What the checks of inbound mail need: the settings from control/ and the DNS resolver they
// use (node:dns on control/dnsservers, as remote delivery).
//
// Interface: inboundSettings(config) -> InboundSettings; createAuthResolver(servers,
// timeoutMs) -> the resolver mailauth calls ((name, type) => answers), each query bounded.
// CheckContext / CheckReply: the shapes the SMTP service hands in and gets back.
// Failures: a query that fails rejects with node:dns's error (code ETIMEOUT, ESERVFAIL,
// ENOTFOUND, ENODATA...): mailauth turns ENOTFOUND/ENODATA into "no record" (and void
// lookups) and every other error into temperror.

import { Resolver } from 'node:dns/promises';

export interface InboundSettings {
  /** control/authservid: the Authentication-Results authserv-id (default me). */
  readonly authservId: string;
  /** control/spfreject: refuse SPF fail (550 5.7.23) and defer temperror (451 4.7.24). */
  readonly spfReject: boolean;
  /** control/dmarcreject: refuse DMARC fail under p=reject (550 5.7.1), defer temperror (451 4.7.1). */
  readonly dmarcReject: boolean;
  /** control/authtimeout in ms: the DNS time one check may take (SPF; DKIM + ARC + DMARC). */
  readonly timeoutMs: number;
  /** control/dnsservers ('ip' or 'ip:port'); empty: the system's. */
  readonly dnsServers: readonly string[];
}

/** What the SMTP service knows about the client and the transaction. */
export interface CheckContext {
  readonly ip: string;
  /** The EHLO/HELO argument. */
  readonly helo: string;
  /** The MAIL FROM address ('' for <>). */
  readonly sender: string;
  /** The client may relay (control/relayclients). */
  readonly relayClient: boolean;
  /** The AUTH user, if the client authenticated. */
  readonly user: string | undefined;
}

/** An SMTP answer the service gives instead of going on. */
export interface CheckReply {
  readonly code: number;
  readonly status: string;
  readonly text: string;
}

export interface InboundConfig {
  readonly authservid: string;
  readonly spfreject: boolean;
  readonly dmarcreject: boolean;
  readonly authtimeout: number;
  readonly dnsservers: readonly string[];
}

/** The settings from a loaded configuration. */
export function inboundSettings(c: InboundConfig): InboundSettings {
  return {
    authservId: c.authservid, spfReject: c.spfreject, dmarcReject: c.dmarcreject,
    timeoutMs: c.authtimeout * 1000, dnsServers: c.dnsservers,
  };
}

/** True when neither a relay client nor authenticated: a stranger whose mail is checked. */
export function isStranger(ctx: CheckContext): boolean {
  return !ctx.relayClient && ctx.user === undefined;
}

export type AuthResolver = (name: string, type: string) => Promise<string[][] | string[]>;

/** node:dns on `servers`; each query tries twice, each try bounded by a share of timeoutMs. */
export function createAuthResolver(servers: readonly string[], timeoutMs: number): AuthResolver {
  const r = new Resolver({ timeout: Math.max(200, Math.floor(timeoutMs / 4)), tries: 2 });
  if (servers.length > 0) r.setServers([...servers]);
  return (name, type) => r.resolve(name, type) as Promise<string[][] | string[]>;
}
