// A bare Node SMTP sink: smtp-server (npm) accepting every message and discarding it, with
// no disk work. The acceptance baseline of issue 4: a server that stores mail durably
// should accept at least as fast as this one, which stores nothing.
//
// Interface: `startNodeSink({ asShipped? })` -> { port, pid, count(), stop() }. The sink
// runs in a child process of its own (this file run with --serve), so its CPU time and
// memory are measured apart from the load driver's; count() is the number of messages it
// answered 250 to, as last reported by the child (at most 10 ms late, and once more before
// it exits).
// smtp-server holds every new connection's greeting back for 100 ms to catch early talkers
// (smtp-connection.js init()), which caps a sink without connection reuse at about ten
// messages per second per connection: that, not Nagle, is the "98 messages/s with 10
// connections" of issue 4. A baseline for acceptance speed must not sleep, so by default
// the sink greets at once (init() patched to skip the timer); asShipped: true keeps the
// library's pause, to show it.
// Failures: the child failing to listen -> startNodeSink rejects; the child dying ->
// count() stops moving and stop() resolves at once.
// Guarantees: listens on 127.0.0.1:<ephemeral port> only; smtp-server sets TCP_NODELAY on
// its sockets (3.21.6); no STARTTLS, no AUTH, no reverse DNS; stop() ends the child and
// waits for it, and is idempotent.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

export interface NodeSinkOptions {
  /** Keep smtp-server's 100 ms greeting delay (default false). */
  readonly asShipped?: boolean;
}

export interface NodeSink {
  readonly port: number;
  readonly pid: number;
  count(): number;
  stop(): Promise<void>;
}

type SinkReport = { readonly port: number } | { readonly count: number };

/** Greets as soon as the socket is set up; the sink has no maxClients for init() to check. */
function greetAtOnce(): void {
  SMTPConnection.prototype.init = function init(this: SMTPConnection): void {
    this._setListeners(() => this.connectionReady());
  };
}

/** The child side: serve, and report the port once and the count as it grows. */
function serve(asShipped: boolean): void {
  if (!asShipped) greetAtOnce();
  let count = 0;
  let reported = 0;
  let timer: NodeJS.Timeout | undefined;
  const report = (): void => {
    timer = undefined;
    if (count !== reported) process.send?.({ count: (reported = count) } satisfies SinkReport);
  };
  const server = new SMTPServer({
    logger: false, authOptional: true, disableReverseLookup: true, disabledCommands: ['STARTTLS', 'AUTH'],
    onData(stream, _session, cb) {
      stream.resume();
      stream.once('end', () => {
        count += 1;
        timer ??= setTimeout(report, 10);
        cb(null);
      });
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.server.address();
    process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 } satisfies SinkReport);
  });
  process.on('message', () => server.close(() => { report(); process.disconnect(); }));
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the sink in a child process; see the header. */
export function startNodeSink(opts: NodeSinkOptions = {}): Promise<NodeSink> {
  const args = ['--serve', ...(opts.asShipped ? ['--as-shipped'] : [])];
  const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let count = 0;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.connected) child.send('stop');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await waitExit(child);
      clearTimeout(killer);
    })();
    return stopping;
  };
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`node sink exited with ${code} before listening`)));
    child.on('message', (m: SinkReport) => {
      if ('count' in m) count = m.count;
      else resolve({ port: m.port, pid: child.pid ?? 0, count: () => count, stop });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--serve') serve(process.argv[3] === '--as-shipped');
