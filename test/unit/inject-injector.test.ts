// The in-process injector (daemon, embedding API): fixups in the tinypool worker, the body
// streamed into a queue writer, notify after commit, unique Message-IDs, failures as values.

import test from 'ava';
import { Readable } from 'node:stream';
import { ok, temp, type Failure, type Outcome } from '../../ts/outcome.js';
import type { Envelope, MessageWriter, Queue } from '../../ts/queue/types.js';
import { createInjector } from '../../ts/inject/injector.js';
import { createFixupPool } from '../../ts/inject/pool.js';

interface Stored { envelope: Envelope; body: string }

/** Just enough of the queue contract for the injector: createWriter. */
function memoryQueue(failWrite?: Failure): { queue: Queue; stored: Stored[]; aborted: number[]; maxChunk: number[] } {
  const stored: Stored[] = [];
  const aborted: number[] = [];
  const maxChunk = [0];
  const queue = {
    createWriter(): Outcome<MessageWriter> {
      const parts: Buffer[] = [];
      let size = 0;
      const w: MessageWriter = {
        write(chunk) {
          if (failWrite) return failWrite;
          parts.push(Buffer.from(chunk));
          size += chunk.length;
          maxChunk[0] = Math.max(maxChunk[0] ?? 0, chunk.length);
          return undefined;
        },
        get size() { return size; },
        async commit(envelope) {
          stored.push({ envelope, body: Buffer.concat(parts).toString('latin1') });
          return ok(`m${stored.length}`);
        },
        abort() { aborted.push(1); },
      };
      return ok(w);
    },
  } as unknown as Queue;
  return { queue, stored, aborted, maxChunk };
}

const CONTROLS = { defaulthost: 'mail', defaultdomain: 'example.org', plusdomain: 'example.org', idhost: 'id.example.org',
  locals: ['mail.example.org'] };

test('injects through the worker pool, notifies after commit, ids unique', async (t) => {
  const { queue, stored } = memoryQueue();
  const notified: string[] = [];
  const pool = createFixupPool();
  t.teardown(() => pool.destroy());
  const inj = createInjector({ queue, controls: () => CONTROLS, notify: (id) => notified.push(id), pool, clock: () => 0 });
  const a = await inj.inject('To: a@x.example\nSubject: one\n\nhello\n', { env: { QMAILUSER: 'app', QMAILHOST: 'app.example' } });
  const b = await inj.inject(Buffer.from('Subject: two\n\nworld'), { recipients: ['b'] });
  t.like(a, { kind: 'ok', value: { id: 'm1', sender: 'app@app.example', recipients: ['a@x.example'] } });
  t.like(b, { kind: 'ok', value: { id: 'm2', sender: 'anonymous@mail.example.org', recipients: ['b@mail.example.org'] } });
  t.deepEqual(notified, ['m1', 'm2']);
  const ids = stored.map((s) => /Message-ID: (.*)/.exec(s.body)?.[1]);
  t.is(new Set(ids).size, 2);
  t.regex(stored[1]?.body ?? '', /^Date: 1 Jan 1970 00:00:00 -0000\nMessage-ID: <19700101000000\.\d+\.2\.qmail@id\.example\.org>\nFrom: anonymous@mail\.example\.org\nCc: recipient list not shown: ;\nSubject: two\n\nworld\n$/);
});

test('a large streamed body reaches the queue in chunks, never whole', async (t) => {
  const { queue, stored, maxChunk } = memoryQueue();
  const inj = createInjector({ queue, controls: () => CONTROLS });
  t.teardown(() => inj.close());
  const line = Buffer.from('x'.repeat(1023) + '\n');
  async function* message(): AsyncGenerator<Buffer> {
    yield Buffer.from('To: big@x.example\n\n');
    for (let i = 0; i < 8 * 1024; i++) yield line;
  }
  const r = await inj.inject(Readable.from(message()));
  t.is(r.kind, 'ok');
  t.true((stored[0]?.body.length ?? 0) > 8 * 1024 * 1024);
  t.true((maxChunk[0] ?? 0) < 1024 * 1024);
});

test('failures: no recipients perm 5.1.3, queue write failure keeps its class and aborts', async (t) => {
  const m = memoryQueue();
  const inj = createInjector({ queue: m.queue, controls: () => CONTROLS });
  t.teardown(() => inj.close());
  t.like(await inj.inject('Subject: nobody\n\nx\n'), { kind: 'perm', status: '5.1.3' });
  t.is(m.stored.length, 0);
  const broken = memoryQueue(temp('4.3.0', 'disk full'));
  const inj2 = createInjector({ queue: broken.queue, controls: () => CONTROLS });
  t.teardown(() => inj2.close());
  t.like(await inj2.inject('To: a@b.c\n\nx\n'), { kind: 'temp', status: '4.3.0', text: 'disk full' });
  t.is(broken.aborted.length, 1);
});
