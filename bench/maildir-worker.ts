// Worker thread of bench/maildir.ts: for each job it is sent, runs one delivery loop for
// the job's duration and reports how many deliveries it completed.
//
// Modes: 'raw' is the disk's limit, the same system calls as a maildir delivery with
// nothing else (create O_EXCL, write, fsync, close, link into new/, fsync new/, unlink);
// 'sync' is qmta's deliverMaildirSync, as the tinypool local-delivery workers call it.
// A failed delivery throws: a benchmark that counts failures as deliveries would lie.

import { closeSync, constants, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { mailbox } from '../ts/mailbox/index.js';

export interface WorkerJob {
  readonly mode: 'raw' | 'sync';
  /** The maildir this worker writes into, shared by the workers of a measurement. */
  readonly maildir: string;
  readonly headers: Uint8Array;
  readonly bodyPath: string;
  readonly durationMs: number;
}

export interface WorkerReport {
  readonly count: number;
  readonly elapsedMs: number;
}

/** One raw maildir-shaped delivery. */
function rawDelivery(tmp: string, fresh: string, newFd: number, name: string, headers: Uint8Array, body: Buffer): void {
  const fd = openSync(join(tmp, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  writeSync(fd, headers);
  writeSync(fd, body);
  fsyncSync(fd);
  closeSync(fd);
  linkSync(join(tmp, name), join(fresh, name));
  fsyncSync(newFd);
  unlinkSync(join(tmp, name));
}

/** A delivery loop of `job.mode` for `job.durationMs`; returns the count. */
function runLoop(job: WorkerJob): WorkerReport {
  const tmp = join(job.maildir, 'tmp');
  const fresh = join(job.maildir, 'new');
  for (const d of [job.maildir, tmp, fresh, join(job.maildir, 'cur')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const body = readFileSync(job.bodyPath);
  const newFd = openSync(fresh, 'r');
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < job.durationMs) {
    if (job.mode === 'raw') {
      rawDelivery(tmp, fresh, newFd, `${count}.T${threadId}.raw`, job.headers, body);
    } else {
      const r = mailbox.deliverMaildirSync({ maildir: job.maildir, headers: job.headers, bodyPath: job.bodyPath });
      if (r.kind !== 'ok') throw new Error(`delivery failed: ${r.status} ${r.text}`);
    }
    count++;
  }
  closeSync(newFd);
  return { count, elapsedMs: performance.now() - start };
}

if (parentPort && (workerData as { role?: string } | null)?.role === 'qmta-maildir-bench') {
  const port = parentPort;
  port.on('message', (job: WorkerJob) => port.postMessage(runLoop(job)));
}
