// Remote delivery (qmail-rspawn + qmail-remote): the RemoteDelivery the scheduler
// (ts/send/remote.ts) hands each destination domain's recipients to.
//
// Interface: createRemoteDelivery(settings, deps?) -> RemoteDelivery & { downed, limiter }.
// deliver(req): waits for a slot (concurrencyremote in total, concurrencyperdomain per
// domain), finds the route (smtproutes, else MX), computes the wire size, and tries the
// addresses in order until one gives an SMTP dialogue; resolves with one outcome per
// recipient, in request order.
// Failures: routing/DNS failures apply to every recipient (mx.ts); no usable address ->
// the last address's reason (temp 4.4.1 "wasn't able to establish an SMTP connection",
// or the TLS-required failure); an unexpected exception -> temp 4.3.0 for every
// recipient (fromException: unknown means temporary), logged.
// Guarantees: never rejects; the slot is released whatever happens.

import { Resolver } from 'node:dns/promises';
import { wireSize } from '../native.js';
import { fromException, temp, type Failure, type Outcome } from '../outcome.js';
import type { RemoteDelivery, RemoteRequest, RemoteResult } from '../send/remote.js';
import { tryTarget, type AttemptContext } from './attempt.js';
import { Limiter } from './limiter.js';
import { localAddressTest } from './local-addresses.js';
import { findTargets, type Dns } from './mx.js';
import { PlaintextHosts } from './plaintext-memory.js';
import { authFor, findRoute, tlsRequiredFor } from './routes.js';
import type { RemoteSettings } from './settings.js';
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
}

/** A node:dns Resolver using the configured servers (or the system's). */
export function createResolver(settings: RemoteSettings): Dns {
  const resolver = new Resolver({ timeout: settings.dnsTimeout * 1000, tries: settings.dnsTries });
  if (settings.dnsServers.length > 0) resolver.setServers([...settings.dnsServers]);
  return resolver;
}

/** Builds the remote delivery service from its settings. */
export function createRemoteDelivery(settings: RemoteSettings, deps: RemoteDeps = {}): RemoteService {
  const now = deps.now ?? Date.now;
  const dns = deps.dns ?? createResolver(settings);
  const isLocal = localAddressTest(settings.localAddresses);
  const limiter = new Limiter(settings.concurrencyRemote, settings.concurrencyPerDomain);
  const downed = new DownedHosts({ now, skipSeconds: settings.downedHostSkip, path: settings.tcptoPath });
  const ctx: AttemptContext = {
    helohost: settings.helohost,
    timeoutConnectMs: settings.timeoutConnect * 1000,
    timeoutRemoteMs: settings.timeoutRemote * 1000,
    tlsCa: settings.tlsCa,
    downed,
    plaintext: new PlaintextHosts({ now, ttlSeconds: settings.plaintextMemory }),
  };

  async function deliverGroup(req: RemoteRequest): Promise<Outcome<string>[]> {
    const all = (f: Failure): Outcome<string>[] => req.recipients.map(() => f);
    const route = findRoute(settings.smtproutes, req.domain);
    const targets = await findTargets(dns, req.domain, route, { port: settings.port, isLocal, random: deps.random });
    if (targets.kind !== 'ok') return all(targets);
    const size = wireSize(req.bodyPath);
    if (size.kind !== 'ok') return all(size);
    const job = {
      bodyPath: req.bodyPath, sender: req.sender, recipients: req.recipients, size: size.value,
      tlsRequired: tlsRequiredFor(settings.tlsRequired, req.domain),
      auth: route.kind === 'relay' ? authFor(settings.auth, route.relay) : undefined,
    };
    let last: Failure = temp('4.4.1', "Sorry, I wasn't able to establish an SMTP connection.");
    for (const target of targets.value) {
      const r = await tryTarget(target, job, ctx);
      if (r.kind === 'done') return r.results;
      deps.log?.info({ id: req.id, ip: target.ip, reason: r.failure.text }, 'remote: trying next address');
      last = r.failure;
    }
    return all(last);
  }

  return {
    downed,
    limiter,
    async deliver(req: RemoteRequest): Promise<RemoteResult[]> {
      const release = await limiter.acquire(req.domain);
      let outcomes: Outcome<string>[];
      try {
        outcomes = await deliverGroup(req);
      } catch (err) {
        deps.log?.error({ id: req.id, err: String(err) }, 'remote: delivery threw');
        outcomes = req.recipients.map(() => fromException(err));
      } finally {
        release();
      }
      return req.recipients.map((address, i) => ({ address, outcome: outcomes[i]! }));
    },
  };
}
