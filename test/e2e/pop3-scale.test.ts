// A 10,000-message maildrop: login, STAT, LIST, UIDL and RETR of every message, and a
// 64 MB message, with this isolate's memory (V8 heap + external buffers) watched.
import test from 'ava';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/home.js';
import { makeMaildir, startTestPop3 } from './pop3-harness.js';

const N = 10_000;

/** Counts bytes and dot-terminated replies as they stream by, holding nothing. */
class Counter {
  bytes = 0;
  terminators = 0;
  private tail = '';
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      this.bytes += d.length;
      const text = this.tail + d.toString('latin1');
      for (let i = text.indexOf('\r\n.\r\n'); i >= 0; i = text.indexOf('\r\n.\r\n', i + 1)) this.terminators++;
      this.tail = text.slice(-4);
      this.waiters = this.waiters.filter((w) => (this.terminators >= w.n ? (w.resolve(), false) : true));
    });
  }

  until(n: number): Promise<void> {
    return new Promise((resolve) => (this.terminators >= n ? resolve() : this.waiters.push({ n, resolve })));
  }
}

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

/** Samples memory until stop() and reports the peak. */
function watchMemory(): { stop(): number } {
  let peak = memory();
  const timer = setInterval(() => (peak = Math.max(peak, memory())), 20);
  return { stop: () => (clearInterval(timer), Math.max(peak, memory())) };
}

test('10,000 messages: login, STAT, LIST, UIDL, RETR of all with bounded memory', async (t) => {
  const home = tempDir(t);
  const maildir = makeMaildir(home);
  for (let i = 0; i < N; i++) {
    writeFileSync(join(maildir, 'new', `1700000000.M${i}P1.host`), `Subject: ${i}\n\nline\n.dot ${i}\n`);
  }
  const s = await startTestPop3(t, { big: { password: 'pw', home } });
  const socket = connect(s.port, '127.0.0.1');
  const c = new Counter(socket);
  const base = memory();
  const watch = watchMemory();
  const start = Date.now();
  socket.write('USER big\r\nPASS pw\r\nSTAT\r\nLIST\r\n');
  await c.until(1); // LIST is the first multi-line reply
  const loginMs = Date.now() - start;
  socket.write('UIDL\r\n');
  await c.until(2);
  const retrStart = Date.now();
  for (let i = 1; i <= N; i += 500) {
    let batch = '';
    for (let j = i; j < i + 500 && j <= N; j++) batch += `RETR ${j}\r\n`;
    socket.write(batch);
    await c.until(2 + Math.min(i + 499, N));
  }
  const retrMs = Date.now() - retrStart;
  const peak = watch.stop() - base;
  socket.end('QUIT\r\n');
  t.is(c.terminators, N + 2);
  t.is(readdirSync(join(maildir, 'cur')).length, N);
  t.log(`login+STAT+LIST ${loginMs} ms, RETR x ${N} ${retrMs} ms, ${c.bytes} bytes, peak memory growth ${(peak / 1e6).toFixed(1)} MB`);
  t.true(peak < 64e6, `memory grew by ${peak}`);
});

test('a 64 MB message is streamed, not held in memory', async (t) => {
  const home = tempDir(t);
  const maildir = makeMaildir(home);
  mkdirSync(join(maildir, 'new'), { recursive: true });
  const fd = openSync(join(maildir, 'new', '1700000000.M1P1.host'), 'w');
  const line = Buffer.from(`${'.x'.repeat(49)}\n`); // dot-started lines: every one is stuffed
  const block = Buffer.concat(Array.from({ length: 10_000 }, () => line));
  writeSync(fd, Buffer.from('Subject: big\n\n'));
  for (let i = 0; i < 64; i++) writeSync(fd, block);
  closeSync(fd);
  const s = await startTestPop3(t, { big: { password: 'pw', home } });
  const socket = connect(s.port, '127.0.0.1');
  const c = new Counter(socket);
  const base = memory();
  const watch = watchMemory();
  socket.write('USER big\r\nPASS pw\r\nRETR 1\r\n');
  await c.until(1);
  const peak = watch.stop() - base;
  socket.end('QUIT\r\n');
  const lines = 64 * 10_000;
  // +OK lines, then header (14 + 2 CR) and lines each with CR and a stuffed dot, terminator
  t.true(c.bytes > 14 + lines * (line.length + 2));
  t.log(`64 MB message: peak memory growth ${(peak / 1e6).toFixed(1)} MB`);
  t.true(peak < 32e6, `memory grew by ${peak}`);
});

test('a client that stops reading in the middle of a large RETR is dropped after the idle time', async (t) => {
  const home = tempDir(t);
  const maildir = makeMaildir(home);
  writeFileSync(join(maildir, 'new', '1700000000.M1P1.host'), Buffer.alloc(32 * 1024 * 1024, 'x\n'));
  const s = await startTestPop3(t, { big: { password: 'pw', home } }, { idleTimeoutMs: 500 });
  const socket = connect(s.port, '127.0.0.1');
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  socket.write('USER big\r\nPASS pw\r\nDELE 1\r\nRETR 1\r\n'); // RETR 1 of a deleted message: -ERR
  socket.write('RSET\r\nRETR 1\r\n'); // and then a real one, never read: the server's write waits
  const lock = join(maildir, 'qmta-pop3.lock');
  for (let i = 0; i < 20 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
  t.true(existsSync(lock), 'session started');
  const start = Date.now();
  while (existsSync(lock) && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 50));
  t.false(existsSync(lock), 'the server dropped the session and released the mailbox');
  t.is(readdirSync(join(maildir, 'cur')).length, 1); // dropped, not QUIT: nothing deleted
});
