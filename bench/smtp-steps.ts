// Where a message's time goes on the wire (issue 14's acceptance target): each SMTP step's
// reply latency, from the last byte of a command to the last line of its reply, for qmta
// (`qmta start`, bench/smtp-e2e-qmta.ts) and the bare Node sink (bench/peer-sink.ts), in
// the same run. At C connections each connection sends one message per session, as
// smtp-source does without -d; a step that takes longer at one server holds its
// connection that much longer, and C connections over their cycle is the rate.
//
// Interface: `runSmtpSteps(opts)` -> { rows, text }; `session(port, to, message, opts?)`, one
// message's session, its step latencies added to `opts.into`; standalone: `node dist/bench/smtp-steps.js
// [--messages 2000] [--size 4096] [--connections 1,10] [--runs 3]`. Runs as whoever may run
// `qmta start` on a fresh home (root for the benches).
// Method: per connection count and run, qmta and the sink alternate which goes first; each
// starts fresh, gets 100 warm-up messages, then the load. qmta's homes are made under one
// bench root (bench/bench-root.ts) and all kept until the end, as smtp-e2e keeps them: a
// home made where another was just deleted creates its files slowly (ext4 without a
// journal). The table gives each step's
// median over every message of every run, the cycle (connect to QUIT's reply) and the
// rate. The client is this process (node:net, one socket per message, Nagle off); its own
// scheduling is in every figure, equally for both servers.
// Failures: any reply other than the expected code, more than MAX_UNREAD bytes of reply
// unread, or no reply for `timeoutMs` (30 s) -> throws with the step and what went wrong.
// Guarantees: loopback only; every server started is stopped, and the bench root removed.

import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBenchRoot, rootLine } from './bench-root.js';
import { startNodeSink } from './peer-sink.js';
import { startQmtaServer } from './smtp-e2e-qmta.js';

export interface StepsOptions {
  readonly messages: number;
  readonly size: number;
  readonly connections: readonly number[];
  readonly runs: number;
}

/** Each step's command and the reply it must get; the first has no command (the greeting). */
const STEPS = [['connect', 220], ['HELO', 250], ['MAIL', 250], ['RCPT', 250], ['DATA', 354], ['body', 250], ['QUIT', 221]] as const;
type Step = (typeof STEPS)[number][0];
type Column = Step | 'cycle';
const COLUMNS: readonly Column[] = [...STEPS.map(([s]) => s), 'cycle'];

/** Microseconds per step, and per whole session (connect to QUIT's reply). */
export type Samples = Record<Column, number[]>;

type Server = 'qmta' | 'sink';

export interface StepsRow {
  readonly connections: number;
  readonly server: Server;
  /** Median µs per column. */
  readonly medians: Record<Column, number>;
  /** The median run's msg/s. */
  readonly rate: number;
}

const WARMUP = 100;

/** Reply bytes waiting to be read at most (an EHLO reply is under 1 KiB). */
export const MAX_UNREAD = 4096;

function emptySamples(): Samples {
  return Object.fromEntries(COLUMNS.map((c) => [c, []])) as unknown as Samples;
}

/** A message of `size` bytes, dot-terminated (lines of 78 characters and CRLF). */
function body(size: number): Buffer {
  const head = 'Subject: steps\r\n\r\n';
  const line = `${'x'.repeat(76)}\r\n`;
  const lines = Math.max(0, Math.floor((size - head.length) / line.length));
  return Buffer.from(`${head}${line.repeat(lines)}.\r\n`);
}

/** Replies on one socket: each call resolves with the next complete reply's last line. */
function replies(sock: Socket): () => Promise<string> {
  let buffered = '';
  let waiting: ((line: string) => void) | undefined;
  const take = (): string | undefined => {
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line[3] !== '-') return line;
    }
    return undefined;
  };
  sock.on('data', (d: Buffer) => {
    buffered += d.toString('latin1');
    if (buffered.length > MAX_UNREAD) return void sock.destroy(new Error(`more than ${MAX_UNREAD} bytes of reply`));
    const line = waiting && take();
    if (line !== undefined && waiting) {
      const w = waiting;
      waiting = undefined;
      w(line);
    }
  });
  return () => {
    const line = take();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => (waiting = resolve));
  };
}

export interface SessionOptions {
  /** Where the step latencies go (none: not measured). */
  readonly into?: Samples;
  /** The longest silence from the server (default 30 s). */
  readonly timeoutMs?: number;
}

/** One session of one message. */
export async function session(port: number, to: string, message: Buffer, o: SessionOptions = {}): Promise<void> {
  const commands: Record<Step, Buffer | undefined> = {
    connect: undefined, HELO: Buffer.from('HELO steps.test\r\n'), MAIL: Buffer.from('MAIL FROM:<steps@steps.test>\r\n'),
    RCPT: Buffer.from(`RCPT TO:<${to}>\r\n`), DATA: Buffer.from('DATA\r\n'), body: message, QUIT: Buffer.from('QUIT\r\n'),
  };
  const start = process.hrtime.bigint();
  const sock = connect({ port, host: '127.0.0.1', noDelay: true });
  const timeoutMs = o.timeoutMs ?? 30_000;
  sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no reply within ${timeoutMs} ms`)));
  const closed = new Promise<void>((resolve, reject) => sock.once('close', () => resolve()).once('error', reject));
  const next = replies(sock);
  let [t, step] = [start, 'connect' as Step];
  try {
    for (const [name, code] of STEPS) {
      step = name;
      const command = commands[step];
      if (command) sock.write(command);
      const line = await Promise.race([next(), closed.then(() => 'closed before the reply')]);
      if (!line.startsWith(String(code))) throw new Error(line);
      const now = process.hrtime.bigint();
      o.into?.[step].push(Number(now - t) / 1000);
      t = now;
    }
  } catch (err) {
    sock.destroy();
    throw new Error(`${step}: ${(err as Error).message}`);
  }
  o.into?.cycle.push(Number(t - start) / 1000);
  sock.end();
  await closed;
}

/** `messages` sessions over `connections` loops to `addresses` in turn; msg/s. */
async function load(port: number, addresses: readonly string[], messages: number, connections: number, message: Buffer, into?: Samples): Promise<number> {
  let sent = 0;
  const loop = async (): Promise<void> => {
    for (let n = sent++; n < messages; n = sent++) await session(port, addresses[n % addresses.length]!, message, { into });
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, loop));
  return messages / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** A fresh server of the kind, with the recipients its loads go to. */
async function start(server: Server, dir: string): Promise<{ port: number; addresses: readonly string[]; stop(): Promise<void> }> {
  if (server === 'sink') {
    const sink = await startNodeSink();
    return { port: sink.port, addresses: ['steps@sink.test'], stop: () => sink.stop() };
  }
  const q = await startQmtaServer({ users: 50, domain: 'bench.test', dir });
  return { port: q.port, addresses: q.addresses, stop: () => q.stop() };
}

async function measure(server: Server, o: StepsOptions & { dir: string }, connections: number, into: Samples): Promise<number> {
  const message = body(o.size);
  const s = await start(server, o.dir);
  try {
    await load(s.port, s.addresses, WARMUP, connections, message);
    return await load(s.port, s.addresses, o.messages, connections, message, into);
  } finally {
    await s.stop();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

export async function runSmtpSteps(opts: StepsOptions): Promise<{ rows: StepsRow[]; text: string }> {
  const root = makeBenchRoot();
  try {
    const rows = await measureAll({ ...opts, dir: root.path });
    return { rows, text: [format(opts, rows), `# ${rootLine(root)}`].join('\n') };
  } finally {
    root.remove();
  }
}

async function measureAll(o: StepsOptions & { dir: string }): Promise<StepsRow[]> {
  const rows: StepsRow[] = [];
  for (const connections of o.connections) {
    const samples: Record<Server, Samples> = { qmta: emptySamples(), sink: emptySamples() };
    const rates: Record<Server, number[]> = { qmta: [], sink: [] };
    for (let run = 0; run < o.runs; run++) {
      const order: Server[] = run % 2 === 0 ? ['qmta', 'sink'] : ['sink', 'qmta'];
      for (const server of order) rates[server].push(await measure(server, o, connections, samples[server]));
    }
    for (const server of ['qmta', 'sink'] as const) {
      const medians = Object.fromEntries(COLUMNS.map((c) => [c, median(samples[server][c])])) as Record<Column, number>;
      rows.push({ connections, server, medians, rate: median(rates[server]) });
    }
  }
  return rows;
}

function format(o: StepsOptions, rows: readonly StepsRow[]): string {
  return [
    `# SMTP step latency: µs from a command's last byte to its reply's last line, median over every message of ${o.runs} run(s)`,
    `# ${o.messages} messages of ${o.size} B per measurement, one session per message; msg/s is the median run's rate`,
    `conns  server  ${COLUMNS.map((c) => c.padStart(8)).join('')}     msg/s`,
    ...rows.map((r) => `${String(r.connections).padEnd(7)}${r.server.padEnd(8)}${COLUMNS.map((c) => r.medians[c].toFixed(0).padStart(8)).join('')}${r.rate.toFixed(0).padStart(10)}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string', default: '2000' }, size: { type: 'string', default: '4096' }, connections: { type: 'string', default: '1,10' }, runs: { type: 'string', default: '3' } },
  });
  const r = await runSmtpSteps({
    messages: Number(values.messages), size: Number(values.size), runs: Number(values.runs), connections: values.connections.split(',').map(Number),
  });
  console.log(r.text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
