// A private network namespace for a test that must use fixed, well-known ports (the README's
// 127.0.0.1:2525, :2587, :2110) without colliding with a developer's running qmta or with
// another suite run on the same machine: its own loopback, nothing else.
//
// Interface: openNetns() -> Netns { run(line, opts), spawnLine(line, opts), close() }.
// run/spawnLine execute `bash -c line` inside the namespace (nsenter), with the given cwd and
// environment. Needs root (unshare/nsenter from util-linux; `ip` from iproute2, installed from
// Debian when missing).
// Failures: the namespace cannot be made or its loopback not brought up -> throws.
// Guarantees: every command runs in the new namespace, never the machine's (the holder reports
// ready only after unshare and `ip link set lo up` have run in it); close() ends the holder,
// which is also bounded by a 10-minute sleep.

import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { finish, type Run } from './child.js';
import { needCommand } from './debian.js';

export interface LineOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin?: string;
  readonly timeoutMs?: number;
}


export interface Netns {
  /** Runs `bash -c line` in the namespace to its end (killed past timeoutMs, default 60 s). */
  run(line: string, opts: LineOptions): Promise<Run>;
  /** Starts `bash -c line` in the namespace in its own process group (the caller ends it). */
  spawnLine(line: string, opts: LineOptions): ChildProcess;
  close(): void;
}

/** Creates the namespace (loopback up) and returns its runner. */
export async function openNetns(): Promise<Netns> {
  if (process.getuid?.() !== 0) throw new Error('a private network namespace needs root (unshare -n)');
  const ip = needCommand('ip', 'iproute2');
  const holder = spawn('unshare', ['-n', 'sh', '-c', `${ip} link set lo up && echo ready && exec sleep 600`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    holder.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`unshare -n failed (${code}): ${err}`)));
  });
  const pid = String(holder.pid);
  if (readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) throw new Error('no new namespace');
  const argv = (line: string): string[] => ['-t', pid, '-n', 'bash', '-c', line];
  return {
    run(line, opts) {
      return finish(spawn('nsenter', argv(line), { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 60_000 }),
        opts.stdin ?? '');
    },
    spawnLine(line, opts) {
      return spawn('nsenter', argv(line), { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    close() {
      holder.kill('SIGKILL');
    },
  };
}
