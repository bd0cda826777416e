// One mail transaction on a ready session: MAIL, RCPTs, DATA (pipelined when the server
// offers PIPELINING), the body, the final reply; one outcome per recipient, in order.
//
// Interface: runTransaction(conn, ip, ext, mail) -> Outcome<string>[].
// Per recipient (qmail-remote's reports, reports.ts): RCPT 5xx -> perm "does not like
// recipient", 4xx -> temp; for the accepted ones the MAIL, DATA and end-of-data replies
// decide (5xx perm, 4xx temp, else ok "accepted message"); a lost connection or a
// timeout -> temp "connection died", "Possible duplicate!" once the final dot was sent.
// SIZE: a message larger than the server's declared limit is not sent: perm 5.3.4.
// Guarantees: never throws for a mail failure; a server that answers 354 although no
// recipient was accepted (possible with PIPELINING) gets an empty message ended at once.

import type { WireStream } from '../native.js';
import type { Failure, Outcome } from '../outcome.js';
import { pathOf } from './address.js';
import { sendBody } from './body.js';
import { ConnectionLost, type SmtpConnection } from './connection.js';
import type { Extensions } from './ehlo.js';
import type { Reply } from './reply.js';
import { isGood, report } from './reports.js';

export interface MailJob {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Wire size (CR LF, no stuffing) for SIZE=. */
  readonly size: number;
  readonly stream: WireStream;
  /** Send RSET first: a later transaction on the same connection, after one that may
   * have been left open (MAIL accepted, every RCPT refused). */
  readonly reset?: boolean;
}

type Results = (Outcome<string> | undefined)[];

function mailCommand(job: MailJob, from: string, ext: Extensions): string {
  return `MAIL FROM:${from}${ext.size ? ` SIZE=${job.size}` : ''}${ext.eightBitMime ? ' BODY=8BITMIME' : ''}\r\n`;
}

/** Runs the transaction; every recipient gets an outcome. */
export async function runTransaction(conn: SmtpConnection, ip: string, ext: Extensions, job: MailJob): Promise<Outcome<string>[]> {
  const results: Results = job.recipients.map(() => undefined);
  const state = { afterDot: false };
  try {
    await converse(conn, ip, ext, job, results, state);
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    fillPending(results, report.died(ip, state.afterDot, err.message));
  }
  return results.map((r) => r ?? report.died(ip, state.afterDot, 'no answer'));
}

function fillPending(results: Results, outcome: Outcome<string>): void {
  results.forEach((r, i) => { if (r === undefined) results[i] = outcome; });
}

async function converse(conn: SmtpConnection, ip: string, ext: Extensions, job: MailJob, results: Results, state: { afterDot: boolean }): Promise<void> {
  if (ext.sizeLimit !== undefined && job.size > ext.sizeLimit) return fillPending(results, report.tooBig(ip, job.size, ext.sizeLimit));
  const from = pathOf(job.sender);
  if (!from) return fillPending(results, report.badAddress('5.1.7', 'sender'));
  const paths = job.recipients.map((r) => pathOf(r));
  paths.forEach((p, i) => { if (!p) results[i] = report.badAddress('5.1.3', 'recipient'); });
  const sendable = paths.flatMap((p, i) => (p ? [{ i, p }] : []));
  if (sendable.length === 0) return;
  if (job.reset) {
    await conn.write('RSET\r\n');
    await conn.read();
  }
  const replies = await exchange(conn, mailCommand(job, from, ext), sendable.map((s) => `RCPT TO:${s.p}\r\n`), ext.pipelining);
  if (!isGood(replies.mail)) return fillPending(results, report.senderRejected(ip, replies.mail));
  replies.rcpts.forEach((r, k) => { if (!isGood(r)) results[sendable[k]!.i] = report.rcptRejected(ip, r); });
  const anyAccepted = replies.rcpts.some(isGood);
  if (!replies.data) return;
  if (!isGood(replies.data)) return fillPending(results, report.dataRejected(ip, replies.data));
  if (!anyAccepted) return endEmpty(conn);
  const broken = await sendBody(conn, job.stream);
  if (broken) return abort(conn, results, broken);
  state.afterDot = true;
  const final = await conn.read();
  fillPending(results, isGood(final) ? report.accepted(ip, final) : report.messageRejected(ip, final));
}

interface Replies {
  readonly mail: Reply;
  readonly rcpts: Reply[];
  /** The DATA reply; undefined when DATA was not sent (no pipelining, nothing accepted). */
  readonly data: Reply | undefined;
}

/** MAIL, RCPTs, DATA: in one write with PIPELINING (RFC 2920), else one by one. */
async function exchange(conn: SmtpConnection, mail: string, rcpts: string[], pipelining: boolean): Promise<Replies> {
  if (pipelining) {
    await conn.write(mail + rcpts.join('') + 'DATA\r\n');
    const mailReply = await conn.read();
    const rcptReplies: Reply[] = [];
    for (let k = 0; k < rcpts.length; k++) rcptReplies.push(await conn.read());
    return { mail: mailReply, rcpts: rcptReplies, data: await conn.read() };
  }
  await conn.write(mail);
  const mailReply = await conn.read();
  if (!isGood(mailReply)) return { mail: mailReply, rcpts: [], data: undefined };
  const rcptReplies: Reply[] = [];
  for (const rcpt of rcpts) {
    await conn.write(rcpt);
    rcptReplies.push(await conn.read());
  }
  if (!rcptReplies.some(isGood)) return { mail: mailReply, rcpts: rcptReplies, data: undefined };
  await conn.write('DATA\r\n');
  return { mail: mailReply, rcpts: rcptReplies, data: await conn.read() };
}

/** DATA was accepted with no recipient: end it with an empty message. */
async function endEmpty(conn: SmtpConnection): Promise<void> {
  await conn.write('.\r\n');
  await conn.read();
}

/** The queue file failed mid-body: drop the connection without the dot (no partial message). */
function abort(conn: SmtpConnection, results: Results, failure: Failure): void {
  conn.destroy();
  fillPending(results, failure);
}
