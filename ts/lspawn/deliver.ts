// A delivery run as its mailbox owner through the helper (qmail-lspawn + qmail-local):
// the daemon's side. The child's report comes back on the request's own socket, as one
// JSON object (local-run.ts writes it), read here as untrusted input: bounded, checked
// (report.ts).
//
// Interface: deliverAsOwner(helper, task) -> Promise<LocalTaskResult> (never rejects).
// Failures (all temporary, 4.3.0, so the delivery is retried): uid 0 ("Not allowed to
// perform deliveries as root.", qmail-lspawn's words), no helper running, the helper's
// refusal (its text), a report over REPORT_MAX bytes, not JSON, or of the wrong shape, no
// report at all ("the delivery as USER ended without a report": the child crashed). A
// child still running helper.marginMs past the program time limit is killed by the
// helper with what it started, which answers "the delivery as USER ran longer than N
// seconds: killed." (crates/lspawn serve.rs); should that answer not come either, the
// daemon stops waiting BACKSTOP_MS later.

import { closeSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { temp, type Outcome } from '../outcome.js';
import type { LocalTask, LocalTaskResult } from '../local/task.js';
import type { Helper } from './helper.js';
import { failed, parseReport, REPORT_MAX } from './report.js';

/** Past the helper's own limit: time for its kill and its answer. */
const BACKSTOP_MS = 30_000;

/** Runs `task` as its assignment's uid through the helper. */
export async function deliverAsOwner(helper: Helper | undefined, task: LocalTask): Promise<LocalTaskResult> {
  const a = task.assignment;
  if (a.uid === 0) return failed(temp('4.3.0', 'Not allowed to perform deliveries as root.'));
  if (!helper) return failed(temp('4.3.0', `${a.user} is a system account (uid ${a.uid}) and no delivery helper runs: restart qmta as root`));
  let body: number;
  try {
    body = openSync(task.bodyPath, 'r');
  } catch (err) {
    return failed(temp('4.3.0', `Unable to read message: ${(err as Error).message}`));
  }
  const at = helper.request({
    kind: 'local', uid: a.uid, gid: a.gid, user: a.user, home: a.home, local: task.local, dash: a.dash, ext: a.ext,
    domain: task.domain, sender: task.sender, timeoutMs: task.programTimeoutMs,
  }, body);
  closeSync(body);
  if (at.kind !== 'ok') return failed(at);
  const text = await readReport(at.value, task.programTimeoutMs + helper.marginMs + BACKSTOP_MS);
  if (text === undefined) return failed(temp('4.3.0', `the delivery as ${a.user} ended without a report`));
  return parseReport(text, { user: a.user, home: a.home, baseEnv: task.baseEnv });
}

/** The whole report, or undefined when the socket ended empty, overflowed or timed out. */
function readReport(fd: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('data', (c: Buffer) => {
      size += c.length;
      if (size > REPORT_MAX) return void s.destroy();
      chunks.push(c);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const ended = size > 0 && size <= REPORT_MAX && s.readableEnded;
      resolve(ended ? Buffer.concat(chunks).toString('utf8') : undefined);
    });
  });
}
