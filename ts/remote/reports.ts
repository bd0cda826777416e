// The texts of outbound results, in qmail-remote's wording (qmail.md §8.4), and the
// status each carries. Remote replies are quoted after "Remote host said:".
//
// Status rule: a failure caused by a reply carries the reply's own RFC 3463 status when
// the server sent one of the right class (550 5.1.1 -> 5.1.1), else the generic one
// given here (x.0.0 for recipients and content, 4.4.2 for a broken dialogue).
// Class rule (qmail): 5xx to MAIL, RCPT, DATA or after the final dot is permanent;
// everything else that goes wrong (greeting, HELO, 4xx, timeouts, lost connections) is
// temporary, retried until queuelifetime.

import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';
import { enhancedStatus, replyText, type Reply } from './reply.js';

function said(reply: Reply): string {
  return `\nRemote host said: ${replyText(reply)}`;
}

/** A failure from `reply`: permanent for 5xx when `permOk`, temporary otherwise. */
export function fromReply(reply: Reply, text: string, permOk: boolean, tempDefault = '4.0.0'): Failure {
  const full = text + said(reply);
  const status = enhancedStatus(reply);
  if (reply.code >= 500 && permOk) return perm(status?.startsWith('5') ? status : '5.0.0', full);
  return temp(status?.startsWith('4') ? status : tempDefault, full);
}

/** True when a reply counts as success at any step (qmail: any code below 400). */
export function isGood(reply: Reply): boolean {
  return reply.code < 400;
}

export const report = {
  accepted: (ip: string, reply: Reply): Outcome<string> => ok(`${ip} accepted message.${said(reply)}`),
  rcptRejected: (ip: string, reply: Reply) => fromReply(reply, `${ip} does not like recipient.`, true),
  senderRejected: (ip: string, reply: Reply) => fromReply(reply, `Connected to ${ip} but sender was rejected.`, true),
  dataRejected: (ip: string, reply: Reply) => fromReply(reply, `${ip} failed on DATA command.`, true),
  messageRejected: (ip: string, reply: Reply) => fromReply(reply, `${ip} failed after I sent the message.`, true),
  greetingFailed: (ip: string, reply: Reply) => fromReply(reply, `Connected to ${ip} but greeting failed.`, false, '4.4.2'),
  heloRejected: (ip: string, reply: Reply) => fromReply(reply, `Connected to ${ip} but my name was rejected.`, false, '4.4.2'),
  authRejected: (ip: string, reply: Reply) => fromReply(reply, `Connected to ${ip} but my credentials were rejected.`, false, '4.7.0'),
  died: (ip: string, afterDot: boolean, why: string) =>
    temp('4.4.2', `Connected to ${ip} but connection died${afterDot ? '. Possible duplicate!' : ''} (${why}).`),
  tooBig: (ip: string, size: number, limit: number) =>
    perm('5.3.4', `Message is too big for ${ip}: ${size} bytes, the server accepts at most ${limit}.`),
  noConnection: (detail: string) => temp('4.4.1', `Sorry, I wasn't able to establish an SMTP connection (${detail}).`),
  tlsRequired: (ip: string, why: string) => temp('4.7.10', `TLS is required for this domain but ${ip} ${why}.`),
  badAddress: (status: '5.1.7' | '5.1.3', which: string) =>
    perm(status, `Sorry, the ${which} address cannot be sent over SMTP (control characters or too long).`),
  tlsFailed: (ip: string, why: string) => temp('4.7.5', `Connected to ${ip} but ${why}.`),
  authImpossible: (ip: string, why: string) => temp('4.7.0', `Connected to ${ip} but cannot authenticate: ${why}.`),
};
