// The SMTP sink of bench/remote.ts, run as a child process so that its CPU is not
// counted as qmta's: accepts everything (PIPELINING, SIZE), discards the bodies, counts
// messages. Protocol with the parent (fork IPC): sends { port } once listening; answers
// 'stats' with { messages, cpuMs }.

import { createServer, type Socket } from 'node:net';

let messages = 0;
const EHLO = '250-sink.bench\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n';

function serve(s: Socket): void {
  let inData = false;
  let tail: Buffer = Buffer.alloc(0);
  s.on('error', () => {});
  s.write('220 sink.bench ESMTP\r\n');
  s.on('data', (chunk: Buffer) => {
    let buf: Buffer = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    let out = '';
    for (;;) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) { tail = buf.subarray(Math.max(0, buf.length - 4)); break; }
        buf = buf.subarray(end + 5);
        inData = false;
        messages++;
        out += '250 2.0.0 ok\r\n';
        continue;
      }
      const nl = buf.indexOf(10);
      if (nl < 0) { tail = buf; break; }
      const verb = buf.subarray(0, 4).toString('latin1').toUpperCase();
      buf = buf.subarray(nl + 1);
      if (verb === 'DATA') { inData = true; out += '354 go\r\n'; buf = Buffer.concat([Buffer.from('\r\n'), buf]); }
      else if (verb === 'EHLO') out += EHLO;
      else if (verb === 'QUIT') { out += '221 bye\r\n'; s.end(out); return; }
      else out += '250 ok\r\n';
    }
    if (out) s.write(out);
  });
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('message', (m) => {
  if (m !== 'stats') return;
  const cpu = process.cpuUsage();
  process.send?.({ messages, cpuMs: (cpu.user + cpu.system) / 1000 });
});
process.on('disconnect', () => process.exit(0));
