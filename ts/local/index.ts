// Local delivery (qmail-lspawn's role): maps a routed recipient to its user through
// users/assign, runs qmail-local's work for it (run.ts: on the event loop when the plan
// is maildir and forward lines only, else in a tinypool worker, worker.ts), then queues
// the collected forwards as one new message.
//
// Interface: createLocalDelivery(deps) -> LocalDelivery (ts/send/types.ts) & { resize(n),
// close(waitMs) }. The pool has concurrencylocal threads; resize() (SIGHUP) swaps in a new pool
// and lets the old one finish its tasks; close(waitMs) stops the pool, waiting at most waitMs.
// Failures: no @ in the recipient -> perm 5.1.3; a worker crash or a throw -> temp 4.3.0
// (unknown means temporary); queuing the forwards fails -> the queue's failure with
// "Unable to forward message: " (the whole delivery is retried or bounced, as qmail).
// Guarantees: the forwarded copy's body is the queue's file with a Delivered-To prefix,
// copied by the core ({ path, prefix }): it never passes through JS. An empty local part
// is qmail's trash address: success, nothing delivered. After a successful delivery the
// mailboxes written are handed to deps.newmail (ts/notify), which returns at once.

import { Tinypool } from 'tinypool';
import type { NewMailSink } from '../notify/types.js';
import { fromException, ok, perm, isFailure, type Outcome } from '../outcome.js';
import type { MessageId, Queue } from '../queue/types.js';
import type { SrsForwarding } from '../srs/forward.js';
import type { LocalDelivery, LocalRequest } from '../send/types.js';
import { lookupUser, type AliasUser, type AssignTable } from '../users/assign.js';
import { runLocal } from './run.js';
import type { LocalTask, LocalTaskResult } from './task.js';

export interface LocalDeps {
  readonly queue: Queue;
  /** The users/assign table in force (reloaded on SIGHUP). */
  readonly users: () => AssignTable;
  /** The alias user (HOME/alias) that gets every local part nobody else matches. */
  readonly alias: AliasUser;
  /** Tells the scheduler about a queued forward. */
  readonly enqueued: (id: MessageId) => void;
  readonly concurrency: number;
  /** Time limit of one program line (default 1 hour). */
  readonly programTimeoutMs?: number;
  /** Told of every maildir/mbox write of a successful delivery (new-mail notice). */
  readonly newmail?: NewMailSink;
  /** SRS for forwarded copies, as configured now (reloaded on SIGHUP); undefined: off. */
  readonly srs?: () => SrsForwarding | undefined;
  /** Partitioned daemon: a user whose uid is not `uid` (a system account) is delivered by
   *  `deliver`, as that user (ts/lspawn), never in this process. */
  readonly owners?: { readonly uid: number; deliver(task: LocalTask): Promise<LocalTaskResult> };
}

export interface LocalDeliveryPool extends LocalDelivery {
  resize(threads: number): void;
  /** Waits at most waitMs for running deliveries, then stops the threads. */
  close(waitMs?: number): Promise<void>;
}

const WORKER = new URL('./worker.js', import.meta.url).href;

interface Pool {
  readonly tinypool: Tinypool;
  /** Tasks started and not settled: a pool is destroyed only once this is empty. */
  readonly running: Set<Promise<unknown>>;
}

// No resident worker (minThreads 0): sites whose mail is maildir-only never start one, and
// its isolate was 18 MB of the daemon's PSS; the first program delivery after a minute idle
// pays the worker's start.
function newPool(threads: number): Pool {
  const n = Math.max(1, threads);
  return { tinypool: new Tinypool({ filename: WORKER, minThreads: 0, maxThreads: n, idleTimeout: 60_000 }), running: new Set() };
}

function runTask(pool: Pool, task: LocalTask): Promise<LocalTaskResult> {
  const p = pool.tinypool.run(task) as Promise<LocalTaskResult>;
  pool.running.add(p);
  return p.finally(() => pool.running.delete(p));
}

/** The local channel's delivery function over a worker pool. */
export function createLocalDelivery(deps: LocalDeps): LocalDeliveryPool {
  let pool = newPool(deps.concurrency);
  let size = Math.max(1, deps.concurrency);
  const asOwner = process.getuid?.() === 0;
  const baseEnv = inheritedEnv();
  return {
    async deliver(req: LocalRequest): Promise<Outcome<string>> {
      const at = req.recipient.lastIndexOf('@');
      if (at < 0) return perm('5.1.3', 'Sorry, address must include host name.');
      const local = req.recipient.slice(0, at);
      if (local === '') return ok('did 0+0+0 (trash address)');
      const task: LocalTask = {
        bodyPath: req.bodyPath, sender: req.sender, local, domain: req.recipient.slice(at + 1),
        assignment: lookupUser(deps.users(), local, deps.alias), asOwner,
        programTimeoutMs: deps.programTimeoutMs ?? 3600_000, baseEnv, srs: deps.srs?.(),
      };
      let result: LocalTaskResult;
      const owners = deps.owners;
      const viaHelper = owners !== undefined && task.assignment.uid !== owners.uid;
      try {
        if (viaHelper) result = await owners.deliver(task);
        else result = await runLocal(task, 'event loop') ?? await runTask(pool, task);
      } catch (err) {
        return fromException(err);
      }
      if (result.outcome.kind === 'ok' && result.writes.length > 0) {
        deps.newmail?.({
          user: task.assignment.user, recipient: req.recipient, sender: req.sender, home: task.assignment.home, env: result.env,
          writes: result.writes, ...(viaHelper ? { owner: task.assignment.uid } : {}),
        });
      }
      return forward(deps, req, result);
    },
    resize(threads) {
      if (Math.max(1, threads) === size) return;
      const old = pool;
      size = Math.max(1, threads);
      pool = newPool(threads);
      void drain(old);
    },
    async close(waitMs = 2000) {
      await drain(pool, waitMs);
    },
  };
}

/** Queues the forwards of a successful delivery; the report gets qmail's ` qp <id>`. */
async function forward(deps: LocalDeps, req: LocalRequest, r: LocalTaskResult): Promise<Outcome<string>> {
  if (r.outcome.kind !== 'ok' || r.forwards.length === 0) return r.outcome;
  const added = await deps.queue.add(
    { sender: r.newSender, recipients: r.forwards },
    { path: req.bodyPath, prefix: Buffer.from(r.dtline) },
  );
  if (isFailure(added)) return { ...added, text: `Unable to forward message: ${added.text}` };
  deps.enqueued(added.value);
  return ok(`${r.outcome.value} qp ${added.value}`);
}

/** Waits for a pool's running tasks, then stops its threads. */
async function drain(pool: Pool, waitMs = Infinity): Promise<void> {
  // A delivery cut short here was not marked done: it runs again at the next start.
  const waited = Promise.allSettled([...pool.running]);
  if (waitMs === Infinity) await waited;
  else await Promise.race([waited, new Promise((r) => setTimeout(r, waitMs).unref())]);
  await pool.tinypool.destroy();
}

/** What programs inherit from qmta's own environment: only the harmless basics. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TZ']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}
