// The delivery engine of one home: configuration, users, queue, scheduler, local pool,
// remote delivery and bounces wired together (qmail-send + qmail-lspawn + qmail-rspawn).
// The daemon (index.ts) and the embedding API (ts/index.ts) both run one Engine.
//
// Interface: createEngine(opts) -> Outcome<Engine>; engine.start() (recovery + scans),
// engine.reload() (SIGHUP: control/ and users/), engine.runQueue() (SIGALRM),
// engine.stop(graceMs) (finish in-flight deliveries, bounded), engine.queue (the queue
// whose commits wake the scheduler: give it to every producer: smtpd, inject, lists),
// engine.claimedByStore(address) (the application's store takes it: ts/local/store.ts).
// engine.direct (delivery at accept time: the RCPT plan, and the record of what the SMTP
// core delivered, logged and announced as qmail-send would).
// Failures: unreadable/invalid control files or users/assign, or a queue that cannot be
// opened, or a DKIM key of control/dkimkeys that cannot be loaded -> the Failure (temporary:
// fix the home and start again). A reload that fails keeps the previous configuration and
// returns the failure. Bounces are DKIM-signed (ts/dkim/signing-queue.ts).

import { join } from 'node:path';
import { createBouncer } from '../bounce/index.js';
import { loadKeyring, type Keyring } from '../dkim/keyring.js';
import { arcSettings, sealingQueue } from '../dkim/arc-seal.js';
import { signingQueue } from '../dkim/signing-queue.js';
import { srsForwarding } from '../srs/forward.js';
import { openConfig, type ConfigStore, type ControlOverrides } from '../config/index.js';
import { planDirect, type DirectPlan } from '../local/direct.js';
import { createLocalDelivery, type LocalDeliveryPool, type LocalDeps } from '../local/index.js';
import { storeClaims, withStore, type LocalStore } from '../local/store.js';
import type { Log } from '../log/index.js';
import { createNotifier, type NewMailEvent } from '../notify/index.js';
import type { DeliveryNotice } from '../notify/types.js';
import { isFailure, ok, type Outcome } from '../outcome.js';
import { openQueue } from '../queue/index.js';
import type { DurableQueue } from '../queue/types.js';
import { createRemoteDelivery } from '../remote/index.js';
import type { DirectRecord } from '../send/direct.js';
import type { RemoteDelivery } from '../send/remote.js';
import { Scheduler } from '../send/scheduler.js';
import type { Clock, SendListener } from '../send/types.js';
import { loadAssign, type AliasUser, type AssignTable } from '../users/assign.js';
import { routeTable } from '../route/index.js';
import { bounceSettings, remoteSettings, router, sendSettings } from './wiring.js';

export interface EngineOptions {
  readonly home: string;
  /** Control file values that take the place of control/ files (embedding API). */
  readonly control?: ControlOverrides;
  readonly log: Log;
  /** A remote delivery to use instead of SMTP (tests, embedding); default ts/remote over control/. */
  readonly remote?: RemoteDelivery;
  /** Port for MX/A destinations of the built-in remote delivery (default 25). */
  readonly remotePort?: number;
  readonly listener?: SendListener;
  readonly clock?: Clock;
  /** Time limit of one |program line, ms (default 1 hour). */
  readonly programTimeoutMs?: number;
  /** Bytes of an original's body copied into its bounce (default 64 KiB). */
  readonly bounceMaxBody?: number;
  readonly todoScanMs?: number;
  /** Told of each new message in a maildir or mbox (the embedding API's `newmail` event). */
  readonly newmail?: (e: NewMailEvent) => void;
  /** The application's local delivery target (ts/local/store.ts) for the recipients it claims. */
  readonly store?: LocalStore;
  /** Partitioned daemon: deliveries to system accounts (ts/local LocalDeps.owners). */
  readonly owners?: LocalDeps['owners'];
}

export interface Engine {
  readonly home: string;
  readonly config: ConfigStore;
  /** The queue; every commit made through it wakes the scheduler (onCommit). */
  readonly queue: DurableQueue;
  readonly scheduler: Scheduler;
  readonly users: () => AssignTable;
  /** Whether the store takes this recipient (ts/local/store.ts storeClaims; false without one). */
  claimedByStore(address: string): Outcome<boolean>;
  /** The DKIM keys of control/dkimkeys in force (reloaded with control/); for the producers that sign. */
  readonly keyring: () => Keyring;
  readonly direct: DirectDelivery;
  start(): Promise<void>;
  reload(): Promise<Outcome<void>>;
  runQueue(): void;
  stop(graceMs?: number): Promise<void>;
}

/** Delivery at accept time, as the SMTP service uses it (ts/local/direct.ts, ts/send/direct.ts). */
export interface DirectDelivery {
  /** RCPT time: the maildirs to write before the 250, or undefined (the queue). */
  plan(address: string, sender: string): DirectPlan | undefined;
  /** After the 250: qmail-send's log lines and events, and the new-mail notices. */
  delivered(record: DirectRecord, notices: readonly DeliveryNotice[]): void;
}

/** Opens the home's configuration, users and queue and builds the scheduler. */
export async function createEngine(opts: EngineOptions): Promise<Outcome<Engine>> {
  const config = await openConfig(opts.home, opts.control);
  if (isFailure(config)) return config;
  const home = config.value.current().home;
  let users = await loadAssign(home);
  if (isFailure(users)) return users;
  let table = users.value;
  let keys = await loadKeyring(config.value.current().dkimkeys);
  if (isFailure(keys)) return keys;
  let keyring = keys.value;
  const raw = await openQueue(join(home, 'queue'));
  if (isFailure(raw)) return raw;
  let scheduler: Scheduler | undefined;
  const queue = raw.value;
  queue.onCommit((id) => scheduler?.enqueued(id));
  const c = config.value.current();
  const alias: AliasUser = { home: join(home, 'alias'), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const newmail = createNotifier({ hook: () => config.value.current().newmailhook, log: opts.log, ...(opts.newmail ? { emit: opts.newmail } : {}) });
  const local = createLocalDelivery({
    // Forwarded copies (dot-qmail & lines) are ARC-sealed when control/arcseal is on.
    queue: sealingQueue(queue, () => ({ settings: arcSettings(config.value.current()), keyring })), users: () => table, alias,
    enqueued: (id) => scheduler?.enqueued(id), concurrency: c.concurrencylocal, newmail,
    srs: () => srsForwarding(config.value.current()),
    ...(opts.programTimeoutMs !== undefined ? { programTimeoutMs: opts.programTimeoutMs } : {}),
    ...(opts.owners ? { owners: opts.owners } : {}),
  });
  const builtin = opts.remote ? undefined : createRemoteDelivery(remoteSettings(c, home, opts.remotePort), { log: opts.log });
  const remote: RemoteDelivery = opts.remote ?? builtin!;
  let route = router(c);
  const original = (a: string): string => route.original?.(a) ?? a;
  const stored = opts.store ? withStore(local, opts.store, original) : undefined;
  let routes = routeTable(c);
  scheduler = new Scheduler({
    queue, log: opts.log, local: stored ?? local,
    router: { route: (r) => route.route(r), original },
    remote,
    bounce: createBouncer(signingQueue(queue, () => keyring), () => bounceSettings(config.value.current(), opts.bounceMaxBody), opts.clock?.now.bind(opts.clock)),
    settings: sendSettings(c),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.listener ? { listener: opts.listener } : {}),
    ...(opts.todoScanMs !== undefined ? { todoScanMs: opts.todoScanMs } : {}),
  });
  const sched = scheduler;
  // The account this process writes as: read once, since `qmta start` drops privileges
  // (partition.ts) before it creates the engine.
  const uid = process.geteuid?.() ?? 0;
  const direct: DirectDelivery = {
    plan: (address, sender) => planDirect(address, sender, {
      enabled: config.value.current().directmaildir, route: routes, users: table, alias, uid,
    }),
    delivered(record, notices) {
      sched.recordDirect(record);
      notices.forEach(newmail);
    },
  };
  return ok({
    home, config: config.value, queue, scheduler: sched, users: () => table, keyring: () => keyring, direct,
    claimedByStore: (address) => storeClaims(opts.store, address),
    start: () => sched.start(),
    runQueue: () => sched.runQueue(),
    async reload() {
      const next = await config.value.reload();
      if (isFailure(next)) return next;
      users = await loadAssign(home);
      if (isFailure(users)) return users;
      keys = await loadKeyring(next.value.dkimkeys);
      if (isFailure(keys)) return keys;
      table = users.value;
      keyring = keys.value;
      route = router(next.value);
      routes = routeTable(next.value);
      builtin?.update(remoteSettings(next.value, home, opts.remotePort));
      sched.setSettings(sendSettings(next.value));
      local.resize(next.value.concurrencylocal);
      return ok(undefined);
    },
    async stop(graceMs = 20_000) {
      await sched.stop(graceMs);
      await stored?.close();
      await closeQuietly(local);
      await remote.close?.();
    },
  });
}

async function closeQuietly(local: LocalDeliveryPool): Promise<void> {
  try {
    await local.close();
  } catch {
    // Workers already gone: nothing left to wait for.
  }
}
