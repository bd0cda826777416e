// The in-process commit notification (qmail's lock/trigger): a Queue that tells the
// scheduler about every message committed through it, so it is preprocessed at once.
//
// Interface: notifyingQueue(queue, onCommit) -> Queue with the same behaviour, where a
// successful add() or writer commit() calls onCommit(id) after the commit resolved.
// Commits made by other processes (`qmta inject` run while the daemon is up) are found
// by the scheduler's periodic todo/ scan instead.
// Guarantees: nothing else changes; a failed commit notifies nothing.

import type { MessageId, MessageWriter, Queue } from '../queue/types.js';
import type { Outcome } from '../outcome.js';

/** Wraps `queue` so that every commit through it calls `onCommit`. */
export function notifyingQueue(queue: Queue, onCommit: (id: MessageId) => void): Queue {
  const told = <T extends Outcome<MessageId>>(r: T): T => {
    if (r.kind === 'ok') onCommit(r.value);
    return r;
  };
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop === 'add') return (...args: Parameters<Queue['add']>) => target.add(...args).then(told);
      if (prop === 'createWriter') return () => wrapWriter(target.createWriter(), told);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function wrapWriter(w: Outcome<MessageWriter>, told: (r: Outcome<MessageId>) => Outcome<MessageId>): Outcome<MessageWriter> {
  if (w.kind !== 'ok') return w;
  const writer = w.value;
  return {
    kind: 'ok',
    value: {
      write: (chunk) => writer.write(chunk),
      get size() { return writer.size; },
      commit: (envelope) => writer.commit(envelope).then(told),
      abort: () => writer.abort(),
    },
  };
}
