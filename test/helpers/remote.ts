// A RemoteDelivery that accepts everything and records what it was given, for tests that
// check what the engine sends out (bounces, redirects, Mta.send) without a real peer.

import { readFileSync } from 'node:fs';
import { ok } from '../../ts/outcome.js';
import type { RemoteDelivery, RemoteRequest } from '../../ts/send/remote.js';

export interface SentMessage {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly body: string;
}

/** A remote delivery answering 250 to every recipient; `sent` lists each call. */
export function recordingRemote(): { remote: RemoteDelivery; sent: SentMessage[] } {
  const sent: SentMessage[] = [];
  const remote: RemoteDelivery = {
    async deliver(req: RemoteRequest) {
      sent.push({ sender: req.sender, recipients: req.recipients, body: readFileSync(req.bodyPath, 'utf8') });
      return req.recipients.map((address) => ({ address, outcome: ok('250 ok') }));
    },
  };
  return { remote, sent };
}
