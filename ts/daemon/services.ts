// The listeners that run beside the engine in `qmta start`: the hook point for the SMTP
// and POP3 servers. Each starter gets the home's configuration, the notifying queue, the
// users table and the logger, and returns something to stop.
//
// Interface: SERVICES (the list, one line per listener), startServices(ctx) -> the
// running ones, stopServices(running).
// Failures: a starter that fails -> its Failure; the daemon stops those already started
// and exits (a listener that cannot bind is a broken configuration, not mail).

import type { ConfigStore } from '../config/index.js';
import type { Keyring } from '../dkim/keyring.js';
import type { HookRunner } from '../hooks/index.js';
import type { DirectDelivery } from './engine.js';
import type { Log } from '../log/index.js';
import { metricsService, type MetricsHub } from '../metrics/index.js';
import { isFailure, ok, type Outcome } from '../outcome.js';
import type { DurableQueue, MessageId } from '../queue/types.js';
import type { SchedulerSnapshot } from '../send/scheduler.js';
import type { AssignTable } from '../users/assign.js';
import { pop3Service } from '../pop3d/service.js';
import { smtpService } from '../smtpd/service.js';
import { submitService } from '../submit/server.js';

export interface ServiceContext {
  readonly home: string;
  readonly config: ConfigStore;
  /** Commits through this queue wake the scheduler at once. */
  readonly queue: DurableQueue;
  readonly users: () => AssignTable;
  readonly log: Log;
  /** Wakes the scheduler for a message committed outside `queue` (e.g. the core's own writer). */
  readonly enqueued: (id: MessageId) => void;
  /** The metrics registry and its log tap (`qmta start`); the SMTP service may connect its
   *  counters with metrics.setSmtpSource (ts/metrics/smtp.ts). */
  readonly metrics?: MetricsHub;
  /** The scheduler's counts (metrics gauges). */
  readonly scheduler?: () => SchedulerSnapshot;
  /**
   * Whether the embedding application's store (ts/local/store.ts) takes a local recipient:
   * such a recipient is known at RCPT time (no users/assign lookup) and always goes through
   * the queue, never a direct maildir write. Absent: no store (the daemon).
   */
  readonly claimedByStore?: (address: string) => Outcome<boolean>;
  /**
   * The embedding application's SMTP hooks (ts/hooks/runner.ts): the SMTP session asks it at
   * each decision point after qmta's own checks. Absent: no hooks (the daemon).
   */
  readonly hooks?: HookRunner;
  /** A partitioned daemon: POP3 sessions of system accounts, run as them (ts/lspawn/pop3.ts). */
  readonly pop3RunAs?: (login: string) => Promise<Outcome<number> | undefined>;
  /** Delivery at accept time: the RCPT plan and the record of what was delivered. */
  readonly direct?: DirectDelivery;
  /** The DKIM keys in force (the SMTP service signs relay and authenticated mail with them). */
  readonly keyring?: () => Keyring;
}

export interface RunningService {
  readonly name: string;
  /** Stops accepting, lets sessions end (bounded), resolves when closed. */
  stop(): Promise<void>;
  /** Called after a successful SIGHUP reload, optional. */
  reload?(): void;
}

export type ServiceStarter = (ctx: ServiceContext) => Promise<Outcome<RunningService>>;

/** The listeners `qmta start` runs: the SMTP and POP3 engineers add one line each. */
export const SERVICES: ServiceStarter[] = [
  smtpService,
  pop3Service,
  submitService,
  metricsService,
];

/** Starts every service in order; on a failure stops the ones already started. */
export async function startServices(ctx: ServiceContext, starters: readonly ServiceStarter[] = SERVICES): Promise<Outcome<RunningService[]>> {
  const running: RunningService[] = [];
  for (const start of starters) {
    const s = await start(ctx);
    if (isFailure(s)) {
      await stopServices(running);
      return s;
    }
    running.push(s.value);
  }
  return ok(running);
}

/** Stops services in reverse order of start. */
export async function stopServices(running: readonly RunningService[]): Promise<void> {
  for (const s of [...running].reverse()) await s.stop();
}
