// Remote delivery (qmail-rspawn + qmail-remote): the RemoteDelivery the scheduler
// (ts/send/remote.ts) hands each destination domain's recipients to.
//
// Interface: createRemoteDelivery(settings, deps?) -> RemoteService (RemoteDelivery plus
// downed, limiter, update(settings), close()).
// deliver(req): waits for a slot (concurrencyremote in total, concurrencyperdomain per
// domain), finds the route (smtproutes, else MX), applies DANE or else the domain's MTA-STS
// policy to MX routes (tls-plan.ts: TLSA-matched TLS; sts-apply.ts: enforce keeps listed MX
// hosts only, with verified TLS; no host left -> temp), computes the wire size, and tries the
// addresses in order until one gives an SMTP dialogue; resolves with one outcome per
// recipient, in request order.
// Failures: routing/DNS failures apply to every recipient (mx.ts); no usable address ->
// the last address's reason (temp 4.4.1 "wasn't able to establish an SMTP connection",
// or the TLS-required failure); an unexpected exception -> temp 4.3.0 for every
// recipient (fromException: unknown means temporary), logged.
// Guarantees: never rejects; the slot is released whatever happens. The downed-host
// memory's skip time and file, and the idle-session cache's size and idle time, are
// fixed at creation (update leaves them).

import { Resolver } from 'node:dns/promises';
import { wireSize } from '../native.js';
import { fromException, ok, temp, type Failure, type Outcome } from '../outcome.js';
import type { RemoteDelivery, RemoteRequest, RemoteResult } from '../send/remote.js';
import { tryTarget, type AttemptContext } from './attempt.js';
import type { SmtpConnection } from './connection.js';
import { Limiter } from './limiter.js';
import { localAddressTest } from './local-addresses.js';
import { findTargets, literalAddress, type Dns } from './mx.js';
import { PlaintextHosts } from './plaintext-memory.js';
import { SessionCache } from './session-cache.js';
import { authFor, findRoute, tlsRequiredFor } from './routes.js';
import type { RemoteSettings } from './settings.js';
import { createStsService, createTlsReporter } from './sts-apply.js';
import { daneTrusted, planTls, type TlsServices } from './tls-plan.js';
import { DownedHosts } from './tcpto.js';

export interface RemoteLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface RemoteDeps {
  /** DNS; default a node:dns Resolver on settings.dnsServers. */
  readonly dns?: Dns;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly log?: RemoteLog;
}

export interface RemoteService extends RemoteDelivery {
  readonly downed: DownedHosts;
  readonly limiter: Limiter;
  /** New settings (control files reloaded): routes, DNS, timeouts and limits change in
   * place; the downed-host and plaintext memories and connections in flight carry on. */
  update(settings: RemoteSettings): void;
  /** Ends open connections (their recipients get "connection died", temporary); later deliveries are deferred. */
  close(): Promise<void>;
}

/** A node:dns Resolver using the configured servers (or the system's). */
export function createResolver(settings: RemoteSettings): Dns {
  const resolver = new Resolver({ timeout: settings.dnsTimeout * 1000, tries: settings.dnsTries });
  if (settings.dnsServers.length > 0) resolver.setServers([...settings.dnsServers]);
  return resolver;
}

/** Builds the remote delivery service from its settings. */
export function createRemoteDelivery(initial: RemoteSettings, deps: RemoteDeps = {}): RemoteService {
  const now = deps.now ?? Date.now;
  const limiter = new Limiter(initial.concurrencyRemote, initial.concurrencyPerDomain);
  const downed = new DownedHosts({ now, skipSeconds: initial.downedHostSkip, path: initial.tcptoPath });
  const plaintext = new PlaintextHosts({ now, ttlSeconds: initial.plaintextMemory });
  const open = new Set<SmtpConnection>();
  const sessions = new SessionCache(initial.concurrencyRemote, initial.sessionIdle * 1000);
  const keep = { downed, plaintext, open, sessions };
  let closed = false;
  let current = prepare(initial, deps, keep);
  // Policies and reports outlive a reload; whether they apply is read per delivery.
  const reporter = createTlsReporter(initial, deps.log);
  const tls: TlsServices = { sts: initial.mtaSts ? createStsService(() => current.settings, reporter) : undefined, reporter };

  return {
    downed,
    limiter,
    async deliver(req: RemoteRequest): Promise<RemoteResult[]> {
      const release = await limiter.acquire(req.domain);
      let outcomes: Outcome<string>[];
      try {
        outcomes = closed ? req.recipients.map(() => SHUT_DOWN) : await deliverGroup(current, deps, req, tls);
      } catch (err) {
        deps.log?.error({ id: req.id, err: String(err) }, 'remote: delivery threw');
        outcomes = req.recipients.map(() => fromException(err));
      } finally {
        release();
      }
      return req.recipients.map((address, i) => ({ address, outcome: outcomes[i]! }));
    },
    update(settings: RemoteSettings): void {
      current = prepare(settings, deps, keep);
      limiter.setLimits(settings.concurrencyRemote, settings.concurrencyPerDomain);
    },
    async close(): Promise<void> {
      closed = true;
      sessions.closeAll();
      for (const conn of open) conn.destroy();
      await tls.sts?.close();
      await reporter?.close();
    },
  };
}

const SHUT_DOWN = temp('4.3.2', 'remote delivery is shutting down; will retry');

interface Prepared {
  readonly settings: RemoteSettings;
  readonly dns: Dns;
  readonly isLocal: (ip: string) => boolean;
  readonly ctx: AttemptContext;
}

/** Everything derived from one version of the settings; the memories carry over. */
function prepare(settings: RemoteSettings, deps: RemoteDeps, keep: Pick<AttemptContext, 'downed' | 'plaintext' | 'open' | 'sessions'>): Prepared {
  if (settings.dane && !daneTrusted(settings)) {
    deps.log?.warn({ dnsservers: settings.dnsServers }, 'remote: control/dane is on but DANE is ignored: control/dnsservers must name only validating resolvers on loopback');
  }
  return {
    settings,
    dns: deps.dns ?? createResolver(settings),
    isLocal: localAddressTest(settings.localAddresses),
    ctx: {
      ...keep,
      helohost: settings.helohost,
      timeoutConnectMs: settings.timeoutConnect * 1000,
      timeoutRemoteMs: settings.timeoutRemote * 1000,
      tlsCa: settings.tlsCa,
      log: deps.log,
    },
  };
}

/** Route, size, DANE or MTA-STS, then the addresses in order until one gives an SMTP dialogue. */
async function deliverGroup(p: Prepared, deps: RemoteDeps, req: RemoteRequest, tls: TlsServices): Promise<Outcome<string>[]> {
  const { settings } = p;
  const all = (f: Failure): Outcome<string>[] => req.recipients.map(() => f);
  const route = findRoute(settings.smtproutes, req.domain);
  const targets = await findTargets(p.dns, req.domain, route, { port: settings.port, isLocal: p.isLocal, random: deps.random });
  if (targets.kind !== 'ok') return all(targets);
  const plan = route.kind === 'mx' && !literalAddress(req.domain)
    ? await planTls(tls, settings, req.domain, targets.value)
    : ok({ targets: targets.value, tlsRequired: false, tlsReport: undefined });
  if (plan.kind !== 'ok') return all(plan);
  const size = wireSize(req.bodyPath);
  if (size.kind !== 'ok') return all(size);
  const job = {
    bodyPath: req.bodyPath, sender: req.sender, recipients: req.recipients, size: size.value,
    tlsRequired: plan.value.tlsRequired || tlsRequiredFor(settings.tlsRequired, req.domain),
    auth: route.kind === 'relay' ? authFor(settings.auth, route.relay) : undefined,
    ...(plan.value.tlsReport ? { tlsReport: plan.value.tlsReport } : {}),
  };
  let last: Failure = temp('4.4.1', "Sorry, I wasn't able to establish an SMTP connection.");
  for (const target of plan.value.targets) {
    const r = await tryTarget(target, job, p.ctx);
    if (r.kind === 'done') return r.results;
    deps.log?.info({ id: req.id, ip: target.ip, reason: r.failure.text }, 'remote: trying next address');
    last = r.failure;
  }
  return all(last);
}
