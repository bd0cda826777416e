// The SMTP service as `qmta start` runs it: settings from control/, RCPT-time validation
// through the dot-qmail lookup (ts/local/dot-qmail-check.ts), AUTH against users/passwd,
// the TLS certificate shared with POP3 (control/tlscert, control/tlskey; self-signed pair
// generated when both are missing).
//
// Interface: smtpService (a ServiceStarter for ts/daemon/services.ts); smtpdSettings(config).
// Control files: me, smtplisten (127.0.0.1:2525), submissionlisten (127.0.0.1:2587),
// smtpslisten, rcpthosts, morercpthosts, relayclients (127.0.0.1, ::1), denyclients,
// badmailfrom, databytes, maxrcpt, maxconnections, maxconnectionsperip, timeoutsmtpd,
// sessiontimeout, maxerrors, smtplinelimit, rcptcheck, authplaintext, tlscert, tlskey,
// etrnroutes (ETRN: the passive queues of ts/flush, sent with flushDomain; etrn.ts).
// Failures: a certificate that cannot be read or made, or a listener that cannot bind
// -> temp 4.3.0 naming the cause (the daemon refuses to start: broken configuration).
// Reload (SIGHUP): users/ and the recipient lookup are read per RCPT/AUTH; rcpthosts,
// relay and deny lists, badmailfrom, limits and the certificate (tlscert, tlskey: a
// renewed pair) apply to new connections; smtplisten, submissionlisten and smtpslisten
// open the listeners they add and close those they drop (sessions on them go on).
// Wake-up: commits made here go through the core's writer, not the DurableQueue object,
// so each committed id is handed to ctx.enqueued, which wakes the scheduler at once.
// Delivery at accept time: recipients the engine plans as direct (ctx.direct.plan) are
// written before the 250 and handed back to the engine for its log lines and notices.

import { join } from 'node:path';
import type { Config, Network, SmtpRoute } from '../config/index.js';
import type { DirectDelivery } from '../daemon/engine.js';
import type { ServiceContext, ServiceStarter } from '../daemon/services.js';
import { flushDomain, passiveQueue } from '../flush/index.js';
import { checkRecipient } from '../local/dot-qmail-check.js';
import { ok, temp } from '../outcome.js';
import { routeTable } from '../route/index.js';
import { verifyPassword } from '../users/passwd.js';
import { createSubmissionSigner } from '../dkim/submission.js';
import { createDataCheck } from '../inbound/data.js';
import { createMailFromCheck } from '../inbound/mail-from.js';
import { inboundSettings, type InboundSettings } from '../inbound/settings.js';
import { smtpMetrics } from './metrics.js';
import { startSmtpd } from './server.js';
import type { EtrnRoute, SmtpdDeps, SmtpdSettings } from './types.js';

const cidr = (n: Network): string => `${n.address}/${n.prefix}`;

/** etrnroutes reuses smtproutes' grammar: an empty relay means the asking client. */
const etrnRoute = (r: SmtpRoute): EtrnRoute => ({
  domain: r.domain,
  ...(r.relay !== '' ? { host: r.relay.replace(/^\[(.*)\]$/, '$1') } : {}),
  port: r.port ?? 25,
});

/** The SMTP settings that control/ gives. */
export function smtpdSettings(c: Config): SmtpdSettings {
  return {
    hostname: c.me,
    smtp: c.smtplisten,
    submission: c.submissionlisten,
    smtps: c.smtpslisten,
    rcpthosts: [...c.rcpthosts, ...c.morercpthosts],
    relayClients: c.relayclients.map(cidr),
    deny: c.denyclients.map(cidr),
    badmailfrom: c.badmailfrom,
    databytes: c.databytes,
    maxRcpts: c.maxrcpt,
    maxConnections: c.maxconnections,
    maxPerIp: c.maxconnectionsperip,
    timeoutMs: c.timeoutsmtpd * 1000,
    sessionLimitMs: c.sessiontimeout * 1000,
    maxErrors: c.maxerrors,
    maxTextLine: c.smtplinelimit,
    authWithoutTls: c.authplaintext,
    tls: { certFile: c.tlscert, keyFile: c.tlskey },
    etrn: c.etrnroutes.map(etrnRoute),
    syncEachFile: c.directsync === 'fsync',
  };
}

/** The service's dependencies: the engine's queue, the recipient check, the password check. */
export function smtpdDeps(ctx: ServiceContext): SmtpdDeps {
  const c = ctx.config.current();
  const alias = { home: join(ctx.home, 'alias'), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  // The embedding application's store takes some local recipients itself (ts/local/store.ts):
  // they exist by its word, and are never written at accept time.
  const claimed = (address: string) => ctx.claimedByStore?.(address) ?? ok(false);
  const validateRecipient = async (address: string) => {
    const byStore = claimed(address);
    if (byStore.kind !== 'ok' || byStore.value) return byStore;
    const now = ctx.config.current();
    return checkRecipient(address, { route: routeTable(now), users: ctx.users(), alias });
  };
  return {
    queue: ctx.queue,
    ...(c.rcptcheck ? { validateRecipient } : {}),
    checkPassword: (user, password) => verifyPassword(ctx.home, user, password),
    onQueued: ctx.enqueued,
    ...(ctx.hooks ? { hooks: ctx.hooks } : {}),
    ...inboundDeps(() => inboundSettings(ctx.config.current())),
    ...(ctx.keyring ? { sign: { enabled: () => ctx.keyring!().size > 0, signer: createSubmissionSigner(ctx.keyring) } } : {}),
    ...(ctx.direct ? directDeps(ctx.direct, (a) => { const o = claimed(a); return o.kind !== 'ok' || o.value; }) : {}),
    etrn: {
      passive: (domain) => passiveQueue(ctx.home, domain),
      flush: (domain, target) => flushDomain(ctx.home, domain, target, { log: ctx.log }),
    },
    log: ctx.log,
  };
}

/** The checks of strangers' mail: SPF at MAIL FROM, DKIM/ARC/DMARC at the end (ts/inbound). */
function inboundDeps(settings: () => InboundSettings): Pick<SmtpdDeps, 'checkMail' | 'checkData'> {
  return { checkMail: createMailFromCheck(settings), checkData: createDataCheck(settings) };
}

/** Delivery at accept time: the engine's RCPT plan, and its record of each delivery. */
function directDeps(direct: DirectDelivery, queued: (address: string) => boolean): Pick<SmtpdDeps, 'planDirect' | 'onDelivered'> {
  return {
    planDirect: (address, sender) => (queued(address) ? undefined : direct.plan(address, sender)),
    onDelivered: (d) => direct.delivered(
      { id: d.id, bytes: d.bytes, sender: d.sender, delivered: d.delivered.map((x) => ({ recipient: x.plan.recipient, maildirs: x.files.length })) },
      d.delivered.map(({ plan, files }) => ({
        user: plan.user, recipient: plan.recipient, sender: d.sender, home: plan.home, env: plan.env,
        writes: files.map((file, i) => ({ kind: 'maildir' as const, maildir: plan.maildirs[i]!, file })),
      })),
    ),
  };
}

/** Starts the SMTP listeners of a home. */
export const smtpService: ServiceStarter = async (ctx) => {
  try {
    const server = await startSmtpd(smtpdSettings(ctx.config.current()), smtpdDeps(ctx));
    ctx.metrics?.setSmtpSource({ snapshot: () => smtpMetrics(server.counters()) });
    const reload = (): void => {
      server.update(smtpdSettings(ctx.config.current())).catch((err: unknown) => {
        ctx.log.error({ event: 'smtp', err: (err as Error).message }, `smtp: reload incomplete: ${(err as Error).message}`);
      });
    };
    return ok({ name: 'smtp', stop: () => server.close(), reload });
  } catch (err) {
    return temp('4.3.0', `smtp: ${(err as Error).message}`);
  }
};
