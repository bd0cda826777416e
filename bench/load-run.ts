// One measured SMTP load against one server: smtp-source (bench/load-smtp-source.ts) timed
// end to end by bench/load-e2e.ts. What a benchmark row of issue 4 is, for qmta, the
// Postfix peer or the Node sink alike.
//
// Interface: `measureSmtpLoad(target, load)` -> EndToEndResult<SmtpSourceResult>, where
// target = { port, host?, pids, delivered } and load = { messages, size, connections,
// reuse, recipients, timeoutMs? }. delivered() is the server's running total (maildir files,
// a sink's count): the run counts from its value at the start, so a server can take
// several loads in a row, provided it is idle when a load starts (the previous load fully
// delivered and counted: a delivery still in flight would be counted in this run).
// Failures: as runSmtpSource and measureEndToEnd (a refused message, a timeout).
// Guarantees: expected deliveries = messages (smtp-source sends one recipient a message).

import { measureEndToEnd, type EndToEndResult } from './load-e2e.js';
import { runSmtpSource, type SmtpSourceOptions, type SmtpSourceResult } from './load-smtp-source.js';

export interface SmtpTarget {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The server's root processes (their trees are measured). */
  readonly pids: readonly number[] | (() => readonly number[]);
  /** Messages delivered so far, in total. */
  readonly delivered: () => number;
}

export type SmtpLoad = Pick<SmtpSourceOptions, 'messages' | 'size' | 'connections' | 'reuse' | 'recipients' | 'timeoutMs'>;

/** Sends `load` to `target` and measures acceptance and delivery; see the header. */
export async function measureSmtpLoad(target: SmtpTarget, load: SmtpLoad): Promise<EndToEndResult<SmtpSourceResult>> {
  const before = target.delivered();
  return measureEndToEnd({
    send: () => runSmtpSource({ ...load, host: target.host ?? '127.0.0.1', port: target.port }),
    delivered: () => target.delivered() - before,
    expected: load.messages,
    pids: target.pids,
    timeoutMs: load.timeoutMs,
  });
}
