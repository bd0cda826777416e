// `qmta inject [-nNaAhH] [-f sender] [recipient ...]`: qmail-inject. Reads a message on stdin,
// fixes its header (ts/inject) and queues it under HOME/queue; a running qmta picks it up
// from todo/ by its periodic scan (ts/send).
//
// With a daemon running, the message goes over its socket (ts/submit); without one, root
// and the queue's owner write the queue directly and anyone else gets exit 111.
//
// Interface: injectCommand(argv, io, home, name) -> exit code (ts/cli/inject.ts registers it,
// ts/inject/sendmail.ts calls it for sendmail).
// Queued mail is DKIM-signed with control/dkimkeys (ts/dkim); -n prints it unsigned.
// Exit codes (qmail-inject's): 0 queued (or printed, -n); 100 usage, bad header or address,
// no recipient, permanent queue failure; 111 temporary trouble (configuration or a DKIM key
// unreadable, queue or read error). Messages: "<name>: fatal: <text> (#<status>)" on stderr.
// Guarantees: exit 0 only after the queue's fsync'd commit.

import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { loadKeyring } from '../dkim/keyring.js';
import { signingQueue } from '../dkim/signing-queue.js';
import { ok, temp, type Failure, type Outcome } from '../outcome.js';
import type { Queue } from '../queue/types.js';
import { openQueue } from '../queue/index.js';
import { becomeQueueOwner, mayUseQueue } from '../privilege/queue-owner.js';
import { connectSubmit } from '../submit/client.js';
import { controlsFromEnv, identityFromEnv, type Env, type InjectControls } from './identity.js';
import { DEFAULT_MAX_HEADER_BYTES, injectStream, type InjectTarget } from './inject.js';
import { parseInjectArgs } from './options.js';

export interface CommandIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Env;
}

/** qmail's exit code for a failure class. */
export function exitCode(f: Failure): number {
  return f.kind === 'perm' ? 100 : 111;
}

function die(io: CommandIo, name: string, f: Failure): number {
  io.stderr.write(`${name}: fatal: ${f.text} (#${f.status})\n`);
  return exitCode(f);
}

function controls(config: Config, env: Env): InjectControls {
  const { defaulthost, defaultdomain, plusdomain, idhost, locals } = config;
  return controlsFromEnv({ defaulthost, defaultdomain, plusdomain, idhost, locals }, env);
}

/** QMAILMFTFILE's addresses, one a line as a control file; a missing file means none. */
async function mftList(env: Env): Promise<Outcome<string[] | undefined>> {
  const path = env['QMAILMFTFILE'];
  if (path === undefined) return ok(undefined);
  try {
    const text = await readFile(path, 'utf8');
    return ok(text.split('\n').map((l) => l.replace(/[ \t\r]+$/, '')).filter((l) => l !== '' && !l.startsWith('#')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ok(undefined);
    return temp('4.3.0', `unable to read ${path}: ${(err as Error).message}`);
  }
}

/** The queue, signing with control/dkimkeys (or the output for -n). */
async function target(config: Config, print: boolean, io: CommandIo): Promise<Outcome<InjectTarget>> {
  if (print) return ok({ kind: 'print', out: io.stdout });
  // A running qmta takes the message over HOME/qmta.sock: it learns our uid from the
  // kernel (SO_PEERCRED) and decides which senders we may use (ts/submit).
  const daemon = await connectSubmit(config.home);
  if (daemon) return ok({ kind: 'queue', queue: daemon });
  const direct = mayWriteQueue(config.home);
  if (direct.kind !== 'ok') return direct;
  const ring = await loadKeyring(config.dkimkeys);
  if (ring.kind !== 'ok') return ring;
  const owner = becomeQueueOwner(config.home);
  if (owner.kind !== 'ok') return owner;
  const q: Outcome<Queue> = await openQueue(join(config.home, 'queue'));
  return q.kind === 'ok' ? ok({ kind: 'queue', queue: signingQueue(q.value, () => ring.value) }) : q;
}

/** No daemon running: root (as the queue's owner) and the queue's owner write it directly;
 *  anyone else gets a temporary failure (the message stays with the caller: exit 111). */
function mayWriteQueue(home: string): Outcome<void> {
  if (mayUseQueue(home)) return ok(undefined);
  return temp('4.3.0', `qmta is not running for ${home}, and only it may queue mail for uid ${process.getuid?.()}: try again later`);
}

/** Runs qmail-inject with argv (options and recipients) and returns the exit code. */
export async function injectCommand(argv: readonly string[], io: CommandIo, home: string, name = 'qmta inject'): Promise<number> {
  const args = parseInjectArgs(argv);
  if (args.kind !== 'ok') {
    io.stderr.write(`${name}: ${args.text}\n`);
    return 100;
  }
  const config = await loadConfig(home);
  if (config.kind !== 'ok') return die(io, name, config);
  const mft = await mftList(io.env);
  if (mft.kind !== 'ok') return die(io, name, mft);
  const t = await target(config.value, args.value.print, io);
  if (t.kind !== 'ok') return die(io, name, t);
  const ctx = {
    identity: identityFromEnv(io.env), controls: controls(config.value, io.env), mft: mft.value, nowMs: Date.now(),
    pid: process.pid, idTag: String(process.pid), maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  };
  const r = await injectStream(io.stdin, args.value.request, ctx, t.value);
  return r.kind === 'ok' ? 0 : die(io, name, r);
}
