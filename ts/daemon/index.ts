// `qmta start`: the daemon. Creates a missing home with defaults, writes the pid file,
// runs the engine and the services (SMTP, POP3: services.ts), and handles qmail-send's
// signals: SIGTERM/SIGINT finish in-flight deliveries (bounded) and exit 0 within 30 s;
// SIGHUP rereads control/ and users/; SIGALRM makes every deferred delivery due now;
// SIGUSR1 reopens the log file (logrotate); control/logmaxbytes rotates it by size.
// Started as root, it first runs partition.ts (the qmta account, bind, drop) and reads
// no network byte before the drop.
//
// Interface: runDaemon(opts) -> Promise<number> (resolves with 111 when it cannot start;
// once running it exits the process itself on SIGTERM/SIGINT).
// Failures: home not creatable, another qmta running on the home, bad configuration, a
// queue that cannot be opened, a service that cannot start -> message on stderr, exit
// 111 (temporary: fix and start again).

import { join } from 'node:path';
import { ensureHome, removePidFile, writePidFile } from '../home/index.js';
import { createLogger, sendEvents, tapLog, type QmtaLogger } from '../log/index.js';
import { createMetricsHub } from '../metrics/index.js';
import { describe, isFailure, type Failure } from '../outcome.js';
import { createEngine, type Engine, type EngineOptions } from './engine.js';
import { partition } from './partition.js';
import { closeUnclaimed } from '../net/prebound.js';
import { deliverAsOwner } from '../lspawn/deliver.js';
import { pop3RunAs } from '../lspawn/pop3.js';
import type { LocalTask } from '../local/task.js';
import { startServices, stopServices, type RunningService } from './services.js';

export interface DaemonOptions {
  readonly home: string;
  /** Also log to stdout (the log file HOME/log/qmta.log is always written). */
  readonly stdout?: boolean;
  /** Extra engine options (tests: remote port, program time limit). */
  readonly engine?: Partial<Omit<EngineOptions, 'home' | 'log'>>;
}

/** Deliveries in flight get this long after SIGTERM; the whole exit stays under 30 s. */
const GRACE_MS = 20_000;
const HARD_EXIT_MS = 28_000;

/** What the signal handlers act on; filled in as start-up proceeds. */
interface State {
  engine?: Engine;
  services: RunningService[];
  stopping: boolean;
}

/** Runs qmta until SIGTERM/SIGINT. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const created = await ensureHome(opts.home);
  if (isFailure(created)) return fail(created);
  const pid = await writePidFile(opts.home);
  if (isFailure(pid)) return fail(pid);
  const parted = await partition(opts.home, opts.engine?.control ?? {});
  if (isFailure(parted)) {
    await removePidFile(opts.home);
    return fail(parted);
  }
  // Signals are handled from here on, so a SIGTERM during a long start-up still exits cleanly.
  const state: State = { services: [], stopping: false };
  const current = () => state.engine?.config.current();
  const log = createLogger({
    file: join(opts.home, 'log', 'qmta.log'), stdout: opts.stdout === true,
    rotate: { maxBytes: () => current()?.logmaxbytes ?? 0, keep: () => current()?.logkeep ?? 0 },
  });
  installSignals(opts.home, state, log);
  // Metrics count what the engine and the services log (ts/metrics): one tap, no counters
  // in the scheduler.
  const metrics = createMetricsHub();
  const tapped = tapLog(log, metrics.tap);
  for (const note of parted.value?.notes ?? []) log.info({ event: 'partition' }, note);
  const p = parted.value;
  const owners = p ? { uid: p.account.uid, deliver: (task: LocalTask) => deliverAsOwner(p.helper, task) } : undefined;
  const engine = await createEngine({ ...opts.engine, home: opts.home, log: tapped, ...(owners ? { owners } : {}) });
  if (isFailure(engine)) return abort(opts.home, log, engine);
  state.engine = engine.value;
  await engine.value.start();
  if (state.stopping) return new Promise<number>(() => {});
  const services = await startServices({
    home: engine.value.home, config: engine.value.config, queue: engine.value.queue, users: engine.value.users, log: tapped,
    enqueued: (id) => engine.value.scheduler.enqueued(id), direct: engine.value.direct, keyring: engine.value.keyring,
    metrics, scheduler: () => engine.value.scheduler.snapshot(),
    ...(p ? { pop3RunAs: pop3RunAs(engine.value.home, p.helper) } : {}),
  });
  if (isFailure(services)) {
    await engine.value.stop(GRACE_MS);
    return abort(opts.home, log, services);
  }
  state.services = services.value;
  closeUnclaimed();
  // One human line on stderr, so `npm start` shows it is up and where to look.
  process.stderr.write(`qmta: running on ${opts.home} (pid ${process.pid}); log: ${join(opts.home, 'log', 'qmta.log')}\n`);
  return new Promise<number>(() => {});
}

function installSignals(home: string, state: State, log: QmtaLogger): void {
  const ev = sendEvents(log);
  const shutdown = async (signal: string) => {
    if (state.stopping) return;
    state.stopping = true;
    log.info({ event: 'signal', signal }, `received ${signal}: finishing deliveries in progress`);
    setTimeout(() => process.exit(0), HARD_EXIT_MS).unref();
    await stopServices(state.services);
    await state.engine?.stop(GRACE_MS);
    ev.status(0, 0, 0, 0, true);
    log.info({ event: 'status', exiting: true }, 'status: exiting');
    await log.close();
    await removePidFile(home);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    if (state.engine && !state.stopping) void reload(state.engine, state.services, log);
  });
  process.on('SIGUSR1', () => {
    log.reopen();
    log.info({ event: 'signal', signal: 'SIGUSR1' }, 'received SIGUSR1: reopened the log file');
  });
  process.on('SIGALRM', () => {
    log.info({ event: 'signal', signal: 'SIGALRM' }, 'received SIGALRM: every deferred delivery is due now');
    state.engine?.runQueue();
  });
}

async function reload(engine: Engine, services: RunningService[], log: QmtaLogger): Promise<void> {
  const r = await engine.reload();
  if (isFailure(r)) {
    log.error({ event: 'alert', reason: describe(r) }, `alert: unable to reread control/ or users/: ${describe(r)}`);
    return;
  }
  for (const s of services) s.reload?.();
  log.info({ event: 'reload' }, 'reread control/ and users/');
}

function fail(f: Failure): number {
  process.stderr.write(`qmta: fatal: ${describe(f)}\n`);
  return 111;
}

async function abort(home: string, log: QmtaLogger, f: Failure): Promise<number> {
  log.error({ event: 'alert', reason: describe(f) }, `alert: cannot start: ${describe(f)}`);
  await log.close();
  await removePidFile(home);
  return fail(f);
}
