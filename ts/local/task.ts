// The message between the scheduler's thread and a local delivery worker: one recipient,
// one qmail-local run. Plain data (structured clone).
//
// Constraint shared by index.ts (builds LocalTask, reads LocalTaskResult) and worker.ts.

import type { MailboxWrite } from '../notify/types.js';
import type { Outcome } from '../outcome.js';
import type { SrsForwarding } from '../srs/forward.js';
import type { Assignment } from '../users/assign.js';

export interface LocalTask {
  readonly bodyPath: string;
  /** Envelope sender, VERP-expanded. */
  readonly sender: string;
  /** Local part (with extension) and domain of the routed recipient. */
  readonly local: string;
  readonly domain: string;
  readonly assignment: Assignment;
  /** Run programs as, and check mboxes for, the assignment's uid/gid (qmta runs as root). */
  readonly asOwner: boolean;
  readonly programTimeoutMs: number;
  /** The environment programs inherit (PATH...), before qmail's variables. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** SRS for forwarded copies; undefined: off. */
  readonly srs?: SrsForwarding;
}

export interface LocalTaskResult {
  readonly outcome: Outcome<string>;
  /** Addresses to forward to, as one new message, when the outcome is ok. */
  readonly forwards: string[];
  /** Envelope sender of the forwarded copy (NEWSENDER). */
  readonly newSender: string;
  /** The Delivered-To line that prefixes the forwarded copy. */
  readonly dtline: string;
  /** Mailboxes written (new-mail notice) and the delivery's environment (for its hook). */
  readonly writes: readonly MailboxWrite[];
  readonly env: Readonly<Record<string, string>>;
}

/** qmail's hop limit (MAXHOPS): more Received/Delivered-To lines than this is a loop. */
export const MAX_HOPS = 100;
