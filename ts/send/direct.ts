// qmail-send's story for a message delivered at accept time (ts/local/direct.ts, crates/
// accept): the same log lines and listener events as a queued message whose local
// deliveries all succeeded at once, so logs, statistics and the embedding API see one
// story for both paths.
//
// Interface: recordDirect(ev, listener, nextDelivery, record). Lines, in qmail-send's
// order: new msg, info msg, then per recipient starting delivery + delivery success
// ("did N+0+0", N = maildirs written), then end msg. Events: delivered per recipient,
// done once. Recipients of the same SMTP message that went through the queue are a
// separate queue message with its own id and lines.

import type { SendEvents } from '../log/index.js';
import type { MessageId } from '../queue/types.js';
import type { SendListener } from './types.js';

export interface DirectRecord {
  readonly id: MessageId;
  /** Size as stored: the header lines qmta added plus the message. */
  readonly bytes: number;
  readonly sender: string;
  /** Routed recipient (virtualdomains prepend included) and the maildirs written. */
  readonly delivered: readonly { readonly recipient: string; readonly maildirs: number }[];
}

/** Logs and announces a direct delivery; `nextDelivery` numbers the deliveries. */
export function recordDirect(ev: SendEvents, listener: SendListener, nextDelivery: () => number, r: DirectRecord): void {
  ev.newMsg(r.id);
  ev.infoMsg(r.id, r.bytes, r.sender);
  for (const d of r.delivered) {
    const n = nextDelivery();
    const report = `did ${d.maildirs}+0+0`;
    ev.startDelivery(n, r.id, 'local', d.recipient);
    ev.delivery(n, 'success', report);
    listener.delivered?.({ id: r.id, channel: 'local', recipient: d.recipient, report });
  }
  ev.endMsg(r.id);
  listener.done?.({ id: r.id });
}
