// Smoke run of the SMTP benchmark harness without qmta: smtp-source against the bare Node
// sink (as the harness runs it, and as smtp-server ships) and against the private Postfix
// peer, with and without connection reuse, printing one table.
//
// Interface: `runPeerSmoke(opts)` -> rows; `formatRows(rows)` -> the table; standalone:
// `node dist/bench/peer-smoke.js [--messages 2000] [--size 4096] [--connections 10]
// [--users 10]`. Must run as root (the Postfix peer, bench/peer-postfix.ts).
// Method: one run per row (a smoke, not a benchmark: no median), rows interleaved by
// reuse mode; the Postfix peer is fresh for the invocation and its maildirs fill up over
// the rows (fresh directories, not a steady state). The as-shipped sink sleeps 100 ms
// before each greeting, so it gets at most 50 messages per connection to keep the run short.
// "accept/s" counts messages until smtp-source exited after its last 250; "e2e/s" until
// the last message was in a maildir (for the sinks, until the sink counted it); CPU is the
// server's process tree; PSS is the peak of its summed proportional set size.

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EndToEndResult } from './load-e2e.js';
import { measureSmtpLoad, type SmtpTarget } from './load-run.js';
import type { SmtpSourceResult } from './load-smtp-source.js';
import { startPostfixPeer, type PostfixPeer } from './peer-postfix.js';
import { startNodeSink, type NodeSink } from './peer-sink.js';

export interface PeerSmokeOptions {
  readonly messages?: number;
  readonly size?: number;
  readonly connections?: number;
  readonly users?: number;
  readonly log?: (line: string) => void;
}

export interface PeerSmokeRow extends EndToEndResult<SmtpSourceResult> {
  readonly server: string;
  readonly reuse: boolean;
  readonly messages: number;
}

interface Target extends SmtpTarget {
  readonly name: string;
  readonly maxMessages: number;
}

function sinkTarget(name: string, sink: NodeSink, maxMessages: number): Target {
  return { name, port: sink.port, pids: [sink.pid], delivered: sink.count, maxMessages };
}

function postfixTarget(peer: PostfixPeer): Target {
  return { name: 'postfix', port: peer.port, pids: [peer.masterPid], delivered: peer.countDelivered, maxMessages: Infinity };
}

async function measure(t: Target, reuse: boolean, o: Required<Omit<PeerSmokeOptions, 'log'>>, recipients: readonly string[]): Promise<PeerSmokeRow> {
  const messages = Math.min(o.messages, t.maxMessages);
  const r = await measureSmtpLoad(t, { messages, size: o.size, connections: o.connections, reuse, recipients, timeoutMs: 300_000 });
  return { ...r, server: t.name, reuse, messages };
}

/** Runs every row; see the header. */
export async function runPeerSmoke(opts: PeerSmokeOptions = {}): Promise<PeerSmokeRow[]> {
  const o = { messages: 2000, size: 4096, connections: 10, users: 10, ...opts };
  const peer = await startPostfixPeer({ users: o.users, domain: 'peer.test' });
  const sink = await startNodeSink();
  const shipped = await startNodeSink({ asShipped: true });
  try {
    const targets = [sinkTarget('node-sink', sink, Infinity), sinkTarget('node-sink as shipped', shipped, 50 * o.connections), postfixTarget(peer)];
    const rows: PeerSmokeRow[] = [];
    for (const reuse of [false, true]) {
      for (const t of targets) {
        rows.push(await measure(t, reuse, o, peer.addresses));
        o.log?.(`${t.name} reuse=${reuse} done`);
      }
    }
    return rows;
  } finally {
    await Promise.all([peer.stop(), sink.stop(), shipped.stop()]);
  }
}

const MB = 1024 * 1024;

/** The rows as an aligned text table. */
export function formatRows(rows: readonly PeerSmokeRow[]): string {
  const head = ['server', 'reuse', 'msgs', 'accept/s', 'e2e/s', 'server CPU s', 'client CPU s', 'peak PSS MB', 'peak RSS MB'];
  const body = rows.map((r) => [
    r.server, r.reuse ? 'yes' : 'no', String(r.messages), r.acceptanceRate.toFixed(0), r.endToEndRate.toFixed(0),
    r.cpuSeconds.toFixed(2), r.sent.cpuSeconds.toFixed(2), (r.peakPssBytes / MB).toFixed(1), (r.peakRssBytes / MB).toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, size: { type: 'string' }, connections: { type: 'string' }, users: { type: 'string' } },
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const opts = { messages: num(values.messages), size: num(values.size), connections: num(values.connections), users: num(values.users) };
  const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as PeerSmokeOptions;
  const rows = await runPeerSmoke({ ...defined, log: (l) => console.error(l) });
  console.log(formatRows(rows));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
