// The report of a delivery child (ts/lspawn/local-run.ts, run as the mailbox owner): input
// from another uid, checked field by field before the daemon acts on it.
//
// Interface: parseReport(text, who) -> LocalTaskResult; failed(outcome); REPORT_MAX,
// MAX_WRITES (constraints shared with local-run.ts, which leaves the new-mail part out
// rather than exceed them).
// who: the assignment's user and home, and the daemon's own base environment (PATH,
// LANG, LC_ALL, TZ), which the report cannot override.
// Failures: not JSON, or a bad outcome, forwards (over MAX_FORWARDS, CR/LF, over 1 KiB),
// Delivered-To line or new sender -> temp 4.3.0 "the delivery as USER sent a malformed
// report" (retried). The new-mail part (writes, env) only feeds notices: when malformed
// the delivery stands and gets no notice.
// Guarantees: writes are at most MAX_WRITES absolute paths without control characters, a
// maildir's file directly in its new/; env keeps only qmail-local's variables (never
// PATH or the like: a newmailhook program runs as the qmta account), with USER and HOME
// the daemon's own.

import { basename, isAbsolute, join } from 'node:path';
import { temp, type Outcome } from '../outcome.js';
import type { LocalTaskResult } from '../local/task.js';
import type { MailboxWrite } from '../notify/types.js';

export const REPORT_MAX = 64 * 1024;
export const MAX_WRITES = 1000;
const MAX_FORWARDS = 1000;
/** qmail-local's variables (ts/local/program-env.ts) the owner's child may report. */
const ENV_KEYS = new Set(['SENDER', 'NEWSENDER', 'RECIPIENT', 'LOCAL', 'HOST', 'HOST2', 'HOST3', 'HOST4', 'EXT', 'EXT2', 'EXT3', 'EXT4',
  'DEFAULT', 'DTLINE', 'RPLINE', 'UFLINE']);

export interface Who {
  readonly user: string;
  readonly home: string;
  readonly baseEnv: Readonly<Record<string, string>>;
}

export function failed(outcome: Outcome<string> & { kind: 'temp' | 'perm' }): LocalTaskResult {
  return { outcome, forwards: [], newSender: '', dtline: '', writes: [], env: {} };
}

const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max && !v.includes('\0');
const isPath = (v: unknown): v is string => isText(v) && isAbsolute(v) && !/[\x00-\x1f\x7f]/.test(v);

/** Checks the child's report (see local-run.ts for its writer). */
export function parseReport(text: string, who: Who): LocalTaskResult {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return failed(temp('4.3.0', `the delivery as ${who.user} sent a malformed report`));
  }
  const o = r.outcome as { kind?: unknown; status?: unknown; text?: unknown; value?: unknown } | undefined;
  const kindOk = o && (o.kind === 'ok' ? isText(o.value) : (o.kind === 'temp' || o.kind === 'perm') && isText(o.status, 9) &&
    /^[45]\.\d{1,3}\.\d{1,3}$/.test(o.status) && o.status[0] === (o.kind === 'temp' ? '4' : '5') && isText(o.text));
  const forwards = r.forwards ?? [];
  const fwdOk = Array.isArray(forwards) && forwards.length <= MAX_FORWARDS && forwards.every((f) => isText(f, 1024) && !/[\r\n]/.test(f));
  const line = (v: unknown) => v === undefined || (isText(v, 2048) && /^([^\r\n]*\n)?$/.test(v));
  if (!kindOk || !fwdOk || !line(r.dtline) || (r.newSender !== undefined && !isText(r.newSender, 1024))) {
    return failed(temp('4.3.0', `the delivery as ${who.user} sent a malformed report`));
  }
  const writes = mailboxWrites(r.writes);
  const env = writes.length > 0 ? deliveryEnv(r.env, who) : undefined;
  return {
    outcome: o as Outcome<string>, forwards: forwards as string[], newSender: (r.newSender as string | undefined) ?? '',
    dtline: (r.dtline as string | undefined) ?? '', writes: env ? writes : [], env: env ?? {},
  };
}

/** The reported mailbox writes, or none when any is malformed. */
function mailboxWrites(v: unknown): MailboxWrite[] {
  if (!Array.isArray(v) || v.length > MAX_WRITES) return [];
  const out: MailboxWrite[] = [];
  for (const w of v as Record<string, unknown>[]) {
    if (w?.kind === 'mbox' && isPath(w.mbox)) out.push({ kind: 'mbox', mbox: w.mbox });
    else if (w?.kind === 'maildir' && isPath(w.maildir) && isPath(w.file) && !['.', '..'].includes(basename(w.file)) &&
      join(w.maildir, 'new', basename(w.file)) === w.file) out.push({ kind: 'maildir', maildir: w.maildir, file: w.file });
    else return [];
  }
  return out;
}

/** qmail-local's variables from the report over the daemon's base, or undefined when malformed. */
function deliveryEnv(v: unknown, who: Who): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const env: Record<string, string> = { ...who.baseEnv };
  for (const [k, value] of Object.entries(v)) {
    if (!ENV_KEYS.has(k)) continue;
    if (!isText(value)) return undefined;
    env[k] = value;
  }
  return { ...env, USER: who.user, HOME: who.home };
}
