// Queue inspection in qmail-qread and qmail-qstat formats (qmail.md §2.8).
//
// Interface: qread(queue) -> text; qreadBlocks(queue, keep?) -> the same text one message
// at a time (for listings streamed with backpressure; keep(sender) picks messages, and a
// message it refuses yields '', so that a consumer can pace itself per message read);
// qstat(queue) -> text (two lines).
// qread: per preprocessed message `D Mon YYYY HH:MM:SS GMT  #<id>  <size>  <<sender>> `
// (+ `bouncing` when failure paragraphs wait), then one line per recipient: TAB channel
// TAB address when pending, `  done` TAB channel TAB address when done. Non-printable
// characters become `_`. Messages only in todo/ are not shown, as qmail.
// Failures: an entry that disappears or cannot be read while listing is skipped (the
// queue changes under a running qmta; qmail-qread behaves the same).

import { isFailure } from '../outcome.js';
import type { Queue } from '../queue/types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function gmt(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '_');
}

/** qmail-qread's listing. */
export function qread(queue: Queue): string {
  return [...qreadBlocks(queue)].join('');
}

/** The listing's lines of each message `keep` accepts, one string per message ('' for
 *  one it refuses). */
export function* qreadBlocks(queue: Queue, keep: (sender: string) => boolean = () => true): Generator<string> {
  for (const id of queue.listQueued()) {
    const info = queue.info(id);
    if (isFailure(info)) continue;
    if (!keep(info.value.sender)) {
      yield '';
      continue;
    }
    const bounce = queue.readBounce(id);
    const bouncing = !isFailure(bounce) && bounce.value !== undefined ? 'bouncing' : '';
    const out = [`${gmt(info.value.birth)}  #${id}  ${info.value.size}  <${printable(info.value.sender)}> ${bouncing}`];
    for (const ch of ['local', 'remote'] as const) {
      const rs = queue.recipients(id, ch);
      if (isFailure(rs)) continue;
      for (const r of rs.value) out.push(`${r.done ? '  done' : ''}\t${ch}\t${printable(r.address)}`);
    }
    yield `${out.join('\n')}\n`;
  }
}

/** qmail-qstat's two lines. */
export function qstat(queue: Queue): string {
  const s = queue.stats();
  return `messages in queue: ${s.messages}\nmessages in queue but not yet preprocessed: ${s.todo}\n`;
}
