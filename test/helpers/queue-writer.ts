// Adds messages to a home's queue as the queue's owner, from a child process: a test run
// as root beside a partitioned `qmta start` (which runs as the qmta account) must not put
// root's files in the account's queue (the daemon could not read them; qmail-queue is
// setuid qmailq for the same reason). Run by anyone else, the child runs as us.
//
// Interface: queueWriter(home) -> { add(envelope, body) -> Promise<Outcome<id>>, close() }.
// The child (queue-writer-child.ts) reads one JSON request a line and answers one a line.

import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { Outcome } from '../../ts/outcome.js';

const CHILD = fileURLToPath(new URL('./queue-writer-child.js', import.meta.url));

export interface QueueWriter {
  add(envelope: { sender: string; recipients: readonly string[] }, body: Buffer): Promise<Outcome<string>>;
}

/** A writer for HOME/queue that lives as long as the test. */
export function queueWriter(t: ExecutionContext, home: string): QueueWriter {
  const st = statSync(join(home, 'queue'));
  const asOwner = process.getuid!() === 0 ? { uid: st.uid, gid: st.gid } : {};
  const child = spawn(process.execPath, [CHILD, join(home, 'queue')], { stdio: ['pipe', 'pipe', 'inherit'], ...asOwner });
  t.teardown(() => child.kill());
  const waiting = new Map<number, (r: Outcome<string>) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const r = JSON.parse(line) as { n: number; outcome: Outcome<string> };
    waiting.get(r.n)?.(r.outcome);
    waiting.delete(r.n);
  });
  child.stdin!.on('error', () => undefined);
  child.once('exit', (code) => {
    for (const done of waiting.values()) done({ kind: 'temp', status: '4.3.0', text: `queue writer exited ${code}` });
    waiting.clear();
  });
  let n = 0;
  return {
    add(envelope, body) {
      const id = n++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.stdin!.write(`${JSON.stringify({ n: id, ...envelope, body: body.toString('base64') })}\n`);
      });
    },
  };
}
