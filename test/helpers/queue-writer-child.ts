// The child of queue-writer.ts: opens the queue given as argv[2] and adds each request
// read on stdin ({n, sender, recipients, body: base64}), answering {n, outcome}.

import { createInterface } from 'node:readline';
import { openQueue } from '../../ts/queue/index.js';

const q = openQueue(process.argv[2]!);
if (q.kind !== 'ok') throw new Error(q.text);
const queue = q.value;
createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line) as { n: number; sender: string; recipients: string[]; body: string };
  void queue.add({ sender: r.sender, recipients: r.recipients }, Buffer.from(r.body, 'base64')).then((outcome) => {
    process.stdout.write(`${JSON.stringify({ n: r.n, outcome })}\n`);
  });
});
