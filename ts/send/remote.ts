// The remote-delivery interface the scheduler hands remote recipients to (qmail-rspawn's
// role). ts/remote implements it; until one is configured, deferRemote keeps every
// remote recipient queued and retried on qmail's schedule, never dropped.
//
// Interface: RemoteDelivery.deliver(req) is called once per destination domain group
// (one sender; with VERP every recipient has its own sender and so its own group) and
// resolves with one outcome per recipient. ok carries the success report text (e.g.
// "192.0.2.1 accepted message. Remote host said: 250 ok"), a failure carries the reason.
// Failures: a thrown error or a missing recipient in the answer is recorded by the
// scheduler as temp 4.3.0 (unknown means temporary), never as a success.

import { temp, type Outcome } from '../outcome.js';

/** One call of {@link RemoteDelivery.deliver}: a message for one domain's recipients. */
export interface RemoteRequest {
  /** The queue's body file (LF line ends); the client converts to CR LF on the wire. */
  readonly bodyPath: string;
  /** Envelope sender for this group, already VERP-expanded. */
  readonly sender: string;
  /** The domain every recipient of this group shares (lowercased). */
  readonly domain: string;
  /** The recipients, all at `domain`. */
  readonly recipients: readonly string[];
  /** The queue id, for logs. */
  readonly id: string;
}

/** One recipient's result of a remote delivery. */
export interface RemoteResult {
  /** The recipient, as in the request. */
  readonly address: string;
  /** ok with the report (the remote server's answer), or a temp (retried) or perm (bounced) failure. */
  readonly outcome: Outcome<string>;
}

/**
 * Remote delivery (qmail-remote's role), for the `remote` option: called once per
 * destination domain and sender; resolves with one result per recipient. A throw or a
 * missing recipient counts as a temporary failure (4.3.0) of those recipients.
 */
export interface RemoteDelivery {
  /** Delivers `req`'s message to its recipients. */
  deliver(req: RemoteRequest): Promise<RemoteResult[]>;
  /** Stops connections (called once at shutdown), optional. */
  close?(): Promise<void>;
}

/** The stand-in until ts/remote is wired: every recipient is deferred (kept, retried). */
export const deferRemote: RemoteDelivery = {
  async deliver(req) {
    const outcome = temp('4.3.0', 'remote delivery is not configured in this qmta; will retry');
    return req.recipients.map((address) => ({ address, outcome }));
  },
};
