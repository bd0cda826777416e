// A delivery run as its mailbox owner through the helper (qmail-lspawn + qmail-local):
// the daemon's side. The child's report comes back on the request's own socket, as one
// JSON object (local-run.ts writes it), read here as untrusted input: bounded, checked.
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

export const REPORT_MAX = 64 * 1024;
const MAX_FORWARDS = 1000;
/** Past the helper's own limit: time for its kill and its answer. */
const BACKSTOP_MS = 30_000;

function failed(outcome: Outcome<string> & { kind: 'temp' | 'perm' }): LocalTaskResult {
  return { outcome, forwards: [], newSender: '', dtline: '', writes: [], env: {} };
}

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
  return parseReport(text, a.user);
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

const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max && !v.includes('\0');

/** Checks the child's report (see local-run.ts for its writer). */
export function parseReport(text: string, user: string): LocalTaskResult {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return failed(temp('4.3.0', `the delivery as ${user} sent a malformed report`));
  }
  const o = r.outcome as { kind?: unknown; status?: unknown; text?: unknown; value?: unknown } | undefined;
  const kindOk = o && (o.kind === 'ok' ? isText(o.value) : (o.kind === 'temp' || o.kind === 'perm') && isText(o.status, 9) &&
    /^[45]\.\d{1,3}\.\d{1,3}$/.test(o.status) && o.status[0] === (o.kind === 'temp' ? '4' : '5') && isText(o.text));
  const forwards = r.forwards ?? [];
  const fwdOk = Array.isArray(forwards) && forwards.length <= MAX_FORWARDS && forwards.every((f) => isText(f, 1024) && !/[\r\n]/.test(f));
  const line = (v: unknown) => v === undefined || (isText(v, 2048) && /^([^\r\n]*\n)?$/.test(v));
  if (!kindOk || !fwdOk || !line(r.dtline) || (r.newSender !== undefined && !isText(r.newSender, 1024))) {
    return failed(temp('4.3.0', `the delivery as ${user} sent a malformed report`));
  }
  return {
    outcome: o as Outcome<string>, forwards: forwards as string[], newSender: (r.newSender as string | undefined) ?? '',
    dtline: (r.dtline as string | undefined) ?? '', writes: [], env: {},
  };
}
