// Maps the loaded Config to each part's plain settings object (DESIGN.md: modules take
// typed settings; ts/config maps control files to them). One function per consumer.
//
// Interface: sendSettings(c), bounceSettings(c, maxBody?), remoteSettings(c, home),
// router(c). No failures: Config is already validated.

import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { BounceSettings } from '../bounce/index.js';
import { defaultRemoteSettings, type RemoteSettings } from '../remote/index.js';
import { originalRecipient, routeTable, splitRecipients } from '../route/index.js';
import type { Router, SendSettings } from '../send/types.js';

/** The scheduler's settings. */
export function sendSettings(c: Config): SendSettings {
  return { concurrencyLocal: c.concurrencylocal, concurrencyRemote: c.concurrencyremote, queueLifetime: c.queuelifetime };
}

/** The bounce composer's settings; `maxBody` (the embedding option) overrides control/bouncemaxbytes. */
export function bounceSettings(c: Config, maxBody?: number): BounceSettings {
  return {
    bouncefrom: c.bouncefrom, bouncehost: c.bouncehost,
    doublebounceto: c.doublebounceto, doublebouncehost: c.doublebouncehost,
    maxBody: maxBody ?? c.bouncemaxbytes,
  };
}

/** Remote delivery settings from control/ (qmail-remote's files and qmta's additions). */
export function remoteSettings(c: Config, home: string, port?: number): RemoteSettings {
  return {
    ...defaultRemoteSettings,
    helohost: c.helohost,
    // ts/config and ts/remote each define their entry shapes; these two lines convert.
    smtproutes: c.smtproutes.map((r) => ({ key: r.domain, relay: r.relay, port: r.port ?? 25 })),
    dnsServers: c.dnsservers,
    timeoutConnect: c.timeoutconnect,
    timeoutRemote: c.timeoutremote,
    tlsRequired: c.tlsrequired,
    auth: c.remoteauth.map((a) => ({ relay: a.host, user: a.user, password: a.password })),
    concurrencyRemote: c.concurrencyremote,
    concurrencyPerDomain: c.concurrencyperdomain,
    tcptoPath: join(home, 'queue', 'lock', 'tcpto'),
    mtaSts: c.mtasts,
    dane: c.dane,
    stateDir: join(home, 'queue', 'lock'),
    ...(c.tlsrpt ? { tlsReportDir: join(home, 'log', 'tlsrpt') } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/** The scheduler's router over control/locals, virtualdomains, percenthack, envnoathost. */
export function router(c: Config): Router {
  const table = routeTable(c);
  return {
    route: (rcpts) => splitRecipients(rcpts, table),
    original: (address) => originalRecipient(address, table),
  };
}
