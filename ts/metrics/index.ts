// Prometheus metrics and the live status page of `qmta start`, on the addresses in
// control/metricslisten (none: off; SIGHUP applies a change). GET /metrics is prom-client's
// text format; GET / is the status page, GET /status.json its data (page.ts).
//
// Interface: createMetricsHub() -> MetricsHub: `tap` goes on the daemon's logger (tapLog) so
// the delivery engine's records are counted (delivery.ts); setSmtpSource(source) connects
// the SMTP service's counters (smtp.ts); metricsService is the ServiceStarter that runs the
// listener (ts/daemon/services.ts).
// Failures: an address that cannot be bound fails the start (as the other listeners);
// on SIGHUP it is logged and the others stay.
// Guarantees: with metricslisten empty the tap returns at once: nothing is counted.

import { Registry } from 'prom-client';
import type { ServiceContext, RunningService } from '../daemon/services.js';
import { Listeners } from '../net/listeners.js';
import { fromException, ok, type Outcome } from '../outcome.js';
import { DeliveryMetrics } from './delivery.js';
import { statusJson, statusPage } from './page.js';
import { QueueView } from './queue.js';
import { createMetricsServer } from './server.js';
import { registerSmtpMetrics, type SmtpMetricsSource } from './smtp.js';

export type { SmtpMetricsSnapshot, SmtpMetricsSource } from './smtp.js';

export interface MetricsHub {
  readonly registry: Registry;
  readonly delivery: DeliveryMetrics;
  /** The log tap: every record the daemon logs. */
  tap(record: object): void;
  /** Connects the SMTP service's counters (read at each scrape). */
  setSmtpSource(source: SmtpMetricsSource): void;
}

/** The registry with the delivery and SMTP metrics; counting starts when the listener does. */
export function createMetricsHub(): MetricsHub {
  const registry = new Registry();
  const delivery = new DeliveryMetrics(registry);
  let smtp: SmtpMetricsSource | undefined;
  registerSmtpMetrics(registry, () => smtp);
  return {
    registry, delivery,
    tap: (record) => delivery.observe(record),
    setSmtpSource: (source) => { smtp = source; },
  };
}

/** Starts the listener of control/metricslisten (when the hub and a scheduler are given). */
export async function metricsService(ctx: ServiceContext): Promise<Outcome<RunningService>> {
  const hub = ctx.metrics;
  const scheduler = ctx.scheduler;
  if (hub === undefined || scheduler === undefined) return ok({ name: 'metrics', stop: async () => {} });
  const queue = new QueueView(ctx.queue, scheduler, hub.registry);
  const routes = {
    '/metrics': async () => ({ type: hub.registry.contentType, body: await hub.registry.metrics() }),
    '/status.json': async () => ({ type: 'application/json', body: JSON.stringify(await statusJson(hub.registry, hub.delivery, queue)) }),
    '/': async () => ({ type: 'text/html; charset=utf-8', body: statusPage() }),
  };
  const error = (err: Error) => ctx.log.error({ event: 'metrics', err: err.message }, `metrics: ${err.message}`);
  const listeners = new Listeners<'metrics'>(() => createMetricsServer(routes, error),
    (addresses) => ctx.log.info({ event: 'metrics', addresses }, 'metrics listening'));
  const apply = async () => {
    const wanted = ctx.config.current().metricslisten.map((addr) => ({ kind: 'metrics' as const, addr }));
    hub.delivery.enabled = wanted.length > 0;
    await listeners.apply(wanted);
  };
  try {
    await apply();
  } catch (err) {
    await listeners.close();
    return fromException(err);
  }
  return ok({
    name: 'metrics',
    stop: () => listeners.close(),
    reload: () => void apply().catch((err: Error) => error(err)),
  });
}
