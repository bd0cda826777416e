// DKIM signing for mail the SMTP service accepts from authenticated users and relay clients:
// the core hands the message as a stream at the end of DATA and prepends what this returns.
//
// Interface: createSubmissionSigner(keyring) -> SubmissionSigner:
//   (message: Readable, envelope) => Promise<Outcome<string>>: the DKIM-Signature fields (LF
//   line ends, each ending in LF) to write in front of the message, '' when no key applies.
// The domain is chosen as for every producer (sign.ts): the From domain's keys, else the
// envelope sender's domain's. The stream is always read to its end.
// Failures: a key mailauth refuses -> temp 4.3.5, a read error -> temp 4.3.0: answer 451 and
// keep nothing (never a 250 for mail that would leave unsigned by accident); a header section
// over 1 MiB -> perm 5.3.4.

import type { Readable } from 'node:stream';
import type { Outcome } from '../outcome.js';
import type { Envelope } from '../queue/types.js';
import type { Keyring } from './keyring.js';
import { signMessage } from './sign.js';
import { senderDomain } from './signing-queue.js';

export type SubmissionSigner = (message: Readable, envelope: Envelope) => Promise<Outcome<string>>;

/** A signer over the keys in force (read per message). */
export function createSubmissionSigner(keyring: () => Keyring): SubmissionSigner {
  return (message, envelope) => signMessage(keyring(), message, { fallbackDomain: senderDomain(envelope.sender) });
}
