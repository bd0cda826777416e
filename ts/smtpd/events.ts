// The facts the core's SMTP sessions report (no answer wanted): a message accepted (its
// queue id wakes the scheduler, its direct deliveries get qmail-send's record and notices),
// a message that could not be made durable, a session closed (its summary line, with the
// reply codes `qmta stats` counts), an engine error.
//
// Interface: handleEvent(item, deps, transactions, kept). `kept(sender, recipient)`: the plan
// of a recipient the core answered itself at RCPT (decide.ts). Never throws.

import type { DirectPlan } from '../local/direct.js';
import { fromLine } from '../local/program-env.js';
import type { CommitReport, SmtpItem } from '../native.js';
import type { Transaction } from './decide.js';
import type { SmtpdDeps } from './types.js';

type Kept = (sender: string, address: string) => DirectPlan | undefined;

export function handleEvent(item: SmtpItem, deps: SmtpdDeps, tx: Map<number, Transaction>, kept: Kept): void {
  const log = deps.log;
  switch (item.type) {
    case 'accepted':
      return accepted(item, item.report!, deps, tx, kept);
    case 'failed':
      return log?.error({ ip: item.ip, sender: item.sender, recipients: item.size, failure: `${item.status} ${item.text}` }, 'smtp commit failed');
    case 'closed':
      tx.delete(item.sid);
      return log?.info({
        ip: item.ip, kind: item.listener, tls: item.tls !== undefined, user: item.user, accepted: item.accepted, ms: item.millis,
        replies: Object.fromEntries((item.replies ?? []).map(([code, n]) => [String(code), n])),
      }, 'smtp session closed');
    case 'error':
      return log?.error({ ip: item.ip, err: item.text }, 'smtp engine error');
    default:
      return log?.error({ type: item.type }, 'smtp: unknown event');
  }
}

/** A kept plan as made for this delivery: its From_ line (UFLINE) dated now, as a plan made
 *  at this message's RCPT would be. */
function redated(plan: DirectPlan | undefined, sender: string): DirectPlan | undefined {
  return plan && { ...plan, env: { ...plan.env, UFLINE: fromLine(sender, new Date()) } };
}

/** A 250 was sent: wake the scheduler, record the direct deliveries, log. */
function accepted(item: SmtpItem, report: CommitReport, deps: SmtpdDeps, transactions: Map<number, Transaction>, kept: Kept): void {
  const recipients = item.recipients ?? [];
  const sender = item.sender ?? '';
  for (const f of report.fallback) {
    const to = recipients[f.index];
    deps.log?.warn({ recipient: to, status: f.status, reason: f.text }, `direct delivery to ${to} failed, queued: ${f.text} (#${f.status})`);
  }
  if (report.queued) deps.onQueued?.(report.queued.id);
  const tx = transactions.get(item.sid);
  const plans = tx?.number === item.transaction ? tx.plans : undefined;
  transactions.delete(item.sid);
  const delivered = report.delivered.flatMap((d) => {
    const to = recipients[d.index] ?? '';
    const plan = plans?.get(to) ?? redated(kept(sender, to), sender);
    return plan ? [{ plan, files: d.files }] : [];
  });
  if (delivered.length > 0) deps.onDelivered?.({ id: report.id, bytes: report.bytes, sender, delivered });
  const id = report.id !== '' ? report.id : report.queued?.id;
  deps.log?.info({ ip: item.ip, id, sender, recipients: recipients.length, user: item.user }, 'smtp message accepted');
}
