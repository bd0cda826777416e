// Drives Postfix's smtp-source, the SMTP load client of the benchmark (issue 4), against any
// SMTP server on loopback.
//
// Interface: `runSmtpSource({ host, port, messages, size, connections, recipients, reuse,
// from?, helo?, timeoutMs? })` -> { seconds, rate, cpuSeconds, streams, messages }.
// smtp-source sends every message of one process to one recipient, so recipient variety
// comes from running several processes ("streams"): a list of recipients gives
// min(list length, connections) streams, stream j sending to list[j]; a function gives one
// stream per connection, stream j sending to recipients(j). Connections and messages are
// split as evenly as possible among the streams. size is the payload in bytes
// (smtp-source adds its own few headers); reuse sends every message of a session over one
// connection (smtp-source -d), otherwise each message has its own connection.
// Failures: a reply smtp-source does not expect (4xx/5xx, a dropped connection) makes it
// exit non-zero, and the promise rejects with its stderr after the other streams are
// killed; so does the timeout (default 10 minutes). Counts that are not whole numbers
// (or below 1), a negative size, or a recipient that is not one address token throw
// before anything is sent.
// Guarantees: seconds runs from the spawn of the first stream until the last one exited,
// i.e. until every message got its 250 and the sessions were closed (spawning costs a few
// ms a stream: under 1% of a 20,000-message run); cpuSeconds is the
// load client's own user+system time (the shell's `times` after smtp-source ends). The
// streams are marked as load clients (bench/load-proc.ts) so that no server tree counts
// them. Installs Debian package postfix when smtp-source is missing (bench/peer-install.ts).

import { spawn } from 'node:child_process';
import { needPostfix } from './peer-install.js';
import { markLoadClient, unmarkLoadClient } from './load-proc.js';

export interface SmtpSourceOptions {
  readonly host: string;
  readonly port: number;
  readonly messages: number;
  /** Payload bytes of each message. */
  readonly size: number;
  readonly connections: number;
  readonly recipients: readonly string[] | ((stream: number) => string);
  readonly reuse: boolean;
  readonly from?: string;
  readonly helo?: string;
  readonly timeoutMs?: number;
}

export interface SmtpSourceResult {
  /** Wall seconds until every stream exited after its last 250. */
  readonly seconds: number;
  /** Messages accepted per second. */
  readonly rate: number;
  /** User+system seconds of the smtp-source processes. */
  readonly cpuSeconds: number;
  readonly streams: number;
  readonly messages: number;
}

interface Stream {
  readonly to: string;
  readonly sessions: number;
  readonly messages: number;
}

/** Splits `total` into `parts` shares differing by at most one. */
function share(total: number, parts: number, j: number): number {
  return Math.floor(total / parts) + (j < total % parts ? 1 : 0);
}

/** Rejects loads smtp-source would misread: counts must be whole, addresses one token. */
function checkLoad(o: SmtpSourceOptions, streams: number): void {
  const whole = [o.messages, o.connections, streams].every((n) => Number.isInteger(n) && n >= 1);
  if (!whole || !Number.isInteger(o.size) || o.size < 0) {
    throw new Error('smtp-source: need at least one recipient, connection and message, and a whole size');
  }
}

function checkAddress(to: string | undefined): string {
  if (!to || !/^[^\s<>]+@[^\s<>@]+$/.test(to)) throw new Error(`smtp-source: not a recipient address: ${JSON.stringify(to)}`);
  return to;
}

function planStreams(o: SmtpSourceOptions): Stream[] {
  const pick = typeof o.recipients === 'function' ? o.recipients : undefined;
  const list = typeof o.recipients === 'function' ? undefined : o.recipients;
  const count = list ? Math.min(list.length, o.connections) : o.connections;
  checkLoad(o, count);
  return Array.from({ length: count }, (_, j) => ({
    to: checkAddress(pick ? pick(j) : list?.[j]), sessions: share(o.connections, count, j), messages: share(o.messages, count, j),
  })).filter((s) => s.messages > 0);
}

function argsFor(o: SmtpSourceOptions, s: Stream): string[] {
  const args = ['-s', String(s.sessions), '-m', String(s.messages), '-l', String(o.size)];
  args.push('-f', o.from ?? 'bench@load.test', '-t', s.to, '-M', o.helo ?? 'load.test');
  if (o.reuse) args.push('-d');
  return [...args, `${o.host}:${o.port}`];
}

/** Children's times as the shell prints them last: "0m0.120000s 0m0.030000s". */
function parseTimes(stderr: string): number | undefined {
  const lines = stderr.trim().split('\n');
  const m = lines[lines.length - 1]?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : undefined;
}

function withoutTimes(stderr: string): string {
  return stderr.replace(/(\s*\d+m[\d.]+s \d+m[\d.]+s)+\s*$/, '').trim();
}

interface Running {
  readonly done: Promise<number>;
  kill(): void;
}

/** One smtp-source under `sh` so that the shell reports its CPU time when it ends. */
function startStream(smtpSource: string, args: string[]): Running {
  const child = spawn('sh', ['-c', '"$@"; s=$?; times >&2; exit $s', 'sh', smtpSource, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], detached: true,
  });
  const pid = child.pid ?? 0;
  markLoadClient(pid);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-8192); });
  const done = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      unmarkLoadClient(pid);
      const cpu = parseTimes(stderr);
      if (code === 0 && cpu !== undefined) resolve(cpu);
      else reject(new Error(`smtp-source ${args.join(' ')} ended with ${signal ?? code}: ${withoutTimes(stderr)}`));
    });
  });
  // The whole process group: the shell and smtp-source.
  return { done, kill: () => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } } };
}

/** Sends the load described in the header and measures its acceptance time. */
export async function runSmtpSource(o: SmtpSourceOptions): Promise<SmtpSourceResult> {
  const { smtpSource } = needPostfix();
  const plan = planStreams(o);
  const start = process.hrtime.bigint();
  const running = plan.map((s) => startStream(smtpSource, argsFor(o, s)));
  const killAll = (): void => running.forEach((r) => r.kill());
  const timeoutMs = o.timeoutMs ?? 600_000;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; killAll(); }, timeoutMs);
  try {
    const cpu = await Promise.all(running.map((r) => r.done));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuSeconds = cpu.reduce((a, b) => a + b, 0);
    return { seconds, rate: o.messages / seconds, cpuSeconds, streams: plan.length, messages: o.messages };
  } catch (e) {
    killAll();
    throw timedOut ? new Error(`smtp-source: not done after ${timeoutMs} ms`) : e;
  } finally {
    clearTimeout(timer);
  }
}
