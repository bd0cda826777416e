// Outbound SMTP benchmark: messages per second and CPU of ts/remote delivering to a
// local sink (bench/remote-sink.ts, a separate process), N messages over D domains, all
// routed to loopback by the default smtproutes entry, one recipient per message.
// Clients: 'qmta' (idle sessions reused, the default), 'qmta-1conn' (sessionIdle 0: one
// connection per message, qmail-remote's model) and, as the peer in the same run,
// nodemailer's SMTP transport (one connection per message, same concurrency).
//
// Interface: `runRemoteBench(opts)` -> rows {client, median, min, max, cpuPerMsgUs,
// sinkCpuPerMsgUs}; standalone: `node dist/bench/remote.js [--messages 20000]
// [--domains 100] [--runs 3] [--concurrency 20] [--body 2048] [--no-peer]`.
// Method: runs interleave the clients; the figure is the median msgs/s with min-max;
// CPU is this process's user+system time per message (qmta's client side only), and the
// sink's separately. Message files are 100 distinct files (page cache: no disk in the
// measurement, as a queue's hot bodies would be).

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createTransport } from 'nodemailer';
import { createRemoteDelivery, defaultRemoteSettings } from '../ts/remote/index.js';

export interface RemoteBenchOptions {
  readonly messages?: number;
  readonly domains?: number;
  readonly runs?: number;
  readonly concurrency?: number;
  readonly bodyBytes?: number;
  /** Also measure nodemailer on the same load (default true). */
  readonly peer?: boolean;
  readonly log?: (line: string) => void;
}

export interface RemoteBenchRow {
  readonly client: 'qmta' | 'qmta-1conn' | 'nodemailer';
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly cpuPerMsgUs: number;
  readonly sinkCpuPerMsgUs: number;
}

type Sink = { port: number; stats(): Promise<{ messages: number; cpuMs: number }>; stop(): void };

async function startSink(): Promise<Sink> {
  const child = fork(new URL('./remote-sink.js', import.meta.url), { stdio: 'ignore' });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    port,
    stats: () => new Promise((resolve) => { child.once('message', resolve as (m: unknown) => void); child.send('stats'); }),
    stop: () => child.disconnect(),
  };
}

function makeBodies(dir: string, size: number): string[] {
  return Array.from({ length: 100 }, (_, i) => {
    const path = join(dir, `body-${i}`);
    const line = `line ${i} ${'x'.repeat(60)}\n`;
    writeFileSync(path, `From: bench@sender.test\nSubject: bench ${i}\n\n${line.repeat(Math.max(1, Math.ceil(size / line.length)))}`);
    return path;
  });
}

type Send = (i: number) => Promise<void>;

function qmtaSender(port: number, bodies: string[], domains: number, concurrency: number, sessionIdle: number): Send {
  const remote = createRemoteDelivery({
    ...defaultRemoteSettings, helohost: 'sender.test', smtproutes: [{ key: '', relay: '127.0.0.1', port }],
    concurrencyRemote: concurrency, concurrencyPerDomain: concurrency, sessionIdle,
  });
  return async (i) => {
    const domain = `d${i % domains}.test`;
    const [r] = await remote.deliver({ bodyPath: bodies[i % bodies.length]!, sender: 'bench@sender.test', domain, recipients: [`u${i}@${domain}`], id: String(i) });
    if (r?.outcome.kind !== 'ok') throw new Error(`delivery failed: ${JSON.stringify(r?.outcome)}`);
  };
}

function nodemailerSender(port: number, bodies: string[], domains: number): Send {
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'sender.test' });
  return async (i) => {
    const to = `u${i}@d${i % domains}.test`;
    await transport.sendMail({ envelope: { from: 'bench@sender.test', to: [to] }, raw: { path: bodies[i % bodies.length]! } });
  };
}

/** Runs `messages` sends with `concurrency` in flight; returns msgs/s and our CPU per message. */
async function measure(send: Send, messages: number, concurrency: number): Promise<{ rate: number; cpuUs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const lane = async (): Promise<void> => { while (next < messages) await send(next++); };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: messages / secs, cpuUs: (cpu.user + cpu.system) / messages };
}

function summarise(client: RemoteBenchRow['client'], rates: number[], cpus: number[], sinkCpus: number[]): RemoteBenchRow {
  const sorted = [...rates].sort((a, b) => a - b);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { client, median: med(rates), min: sorted[0]!, max: sorted.at(-1)!, cpuPerMsgUs: med(cpus), sinkCpuPerMsgUs: med(sinkCpus) };
}

/** Runs the benchmark and returns one row per client. */
export async function runRemoteBench(opts: RemoteBenchOptions = {}): Promise<RemoteBenchRow[]> {
  const { messages = 20_000, domains = 100, runs = 3, concurrency = 20, bodyBytes = 2048, peer = true } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'qmta-remote-bench-'));
  const sink = await startSink();
  try {
    const bodies = makeBodies(dir, bodyBytes);
    const clients: [RemoteBenchRow['client'], Send][] = [
      ['qmta', qmtaSender(sink.port, bodies, domains, concurrency, defaultRemoteSettings.sessionIdle)],
      ['qmta-1conn', qmtaSender(sink.port, bodies, domains, concurrency, 0)],
    ];
    if (peer) clients.push(['nodemailer', nodemailerSender(sink.port, bodies, domains)]);
    const results = new Map(clients.map(([c]) => [c, { rates: [] as number[], cpus: [] as number[], sink: [] as number[] }]));
    for (let run = 0; run < runs; run++) {
      for (const [client, send] of clients) {
        const before = await sink.stats();
        const m = await measure(send, messages, concurrency);
        const after = await sink.stats();
        if (after.messages - before.messages !== messages) throw new Error(`sink counted ${after.messages - before.messages} of ${messages}`);
        const r = results.get(client)!;
        r.rates.push(m.rate); r.cpus.push(m.cpuUs); r.sink.push(((after.cpuMs - before.cpuMs) * 1000) / messages);
        opts.log?.(`run ${run + 1} ${client}: ${m.rate.toFixed(0)} msgs/s, ${m.cpuUs.toFixed(0)} us CPU/msg`);
      }
    }
    return clients.map(([c]) => summarise(c, results.get(c)!.rates, results.get(c)!.cpus, results.get(c)!.sink));
  } finally {
    sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' }, domains: { type: 'string' }, runs: { type: 'string' },
      concurrency: { type: 'string' }, body: { type: 'string' }, 'no-peer': { type: 'boolean' },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const rows = await runRemoteBench({
    messages: num(values.messages), domains: num(values.domains), runs: num(values.runs),
    concurrency: num(values.concurrency), bodyBytes: num(values.body), peer: !values['no-peer'],
    log: (l) => console.error(l),
  });
  console.log(JSON.stringify(rows, null, 2));
}
