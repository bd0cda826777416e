// The local delivery worker (qmail-local's role), run by tinypool for the deliveries the
// event loop leaves to the pool (run.ts: program and mbox lines).
//
// Interface: default export deliverLocal(task: LocalTask) -> LocalTaskResult (task.ts).
// Failures: runLocal's; a throw becomes temp 4.3.0 in the main thread (tinypool rejects
// the task).
// Constraint (toolchain.md §10.8): the native addon is loaded in the main thread too
// (ts/mailbox is imported there first), and this module only makes synchronous calls
// into it.

import { runLocal } from './run.js';
import type { LocalTask, LocalTaskResult } from './task.js';

/** One qmail-local run for one recipient. */
export default async function deliverLocal(task: LocalTask): Promise<LocalTaskResult> {
  return (await runLocal(task, 'worker'))!;
}
