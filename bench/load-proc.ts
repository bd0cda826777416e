// Reads CPU time and memory of server process trees from /proc, for the load benchmarks.
//
// Interface: `processTree(roots)` -> the roots and all their live descendants;
// `treeCpuSeconds(roots)` -> user+system seconds of that tree so far; `treeMemory(roots)`
// -> { rss, pss, hwm } bytes; `machineCpuSeconds()` -> busy CPU seconds of the whole
// machine so far (all processes, the kernel's interrupt work included: /proc/stat's user,
// nice, system, irq and softirq; idle, I/O wait and steal left out); `markLoadClient(pid)`
// / `unmarkLoadClient(pid)` keep the load generator's own processes out of every tree.
// Failures: a process that exits while it is read is skipped (its CPU reaches its parent's
// cutime once reaped); a /proc line that does not parse throws (not Linux: unsupported).
// Guarantees: CPU counts, for every live process of the tree, its own utime+stime plus the
// cutime+cstime of its reaped children, so a daemon that forks short-lived workers (Postfix's
// master) is counted whole and nothing twice; the difference of two readings is the CPU the
// tree spent between them. The one exception is this process: it reaps the load clients
// (smtp-source), so its children's CPU is left out and only live children count.
// rss sums VmRSS (shared pages counted in every process), pss sums Pss from smaps_rollup
// (shared pages divided among their users: the fair figure for a many-process server),
// hwm is the largest single VmHWM.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const loadClients = new Set<number>();
let ticks: number | undefined;

/** Keeps `pid` (a load-generating process) out of every process tree. */
export function markLoadClient(pid: number): void {
  loadClients.add(pid);
}

export function unmarkLoadClient(pid: number): void {
  loadClients.delete(pid);
}

function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields after the command name: index 0 is state (field 3 in proc(5)). */
function statFields(pid: number): string[] | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error(`/proc/${pid}/stat does not parse`);
  return stat.slice(close + 2).split(' ');
}

/**
 * The children of `pid` from /proc/<pid>/task/<tid>/children (every thread: a Node process
 * may fork from any of them). Cheap, unlike a scan of all of /proc; a kernel without
 * CONFIG_PROC_CHILDREN lacks the files, and scanAll() stands in.
 */
function childrenOf(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    const text = readOrUndefined(`/proc/${pid}/task/${tid}/children`);
    if (text === undefined) return tid === String(pid) ? undefined : out;
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/** Parent -> children over all of /proc: the fallback of childrenOf(). */
function scanAll(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  return children;
}

/** The live roots and all their live descendants, load clients excluded. */
export function processTree(roots: readonly number[]): number[] {
  let all: Map<number, number[]> | undefined;
  const kids = (pid: number): number[] => childrenOf(pid) ?? (all ??= scanAll()).get(pid) ?? [];
  const seen = new Set<number>();
  const todo = roots.filter((p) => readOrUndefined(`/proc/${p}/stat`) !== undefined);
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (seen.has(pid) || loadClients.has(pid)) continue;
    seen.add(pid);
    todo.push(...kids(pid));
  }
  return [...seen];
}

/** User+system CPU seconds spent so far by the trees under `roots` (see the header). */
export function treeCpuSeconds(roots: readonly number[]): number {
  let total = 0;
  for (const pid of processTree(roots)) {
    const f = statFields(pid);
    if (!f) continue;
    // utime, stime, cutime, cstime are proc(5) fields 14-17.
    const own = Number(f[11]) + Number(f[12]);
    const reaped = pid === process.pid ? 0 : Number(f[13]) + Number(f[14]);
    total += own + reaped;
  }
  return total / clockTicks();
}

export interface TreeMemory {
  readonly rss: number;
  readonly pss: number;
  readonly hwm: number;
}

function kbField(text: string | undefined, name: string): number {
  const m = text?.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
  return m?.[1] ? Number(m[1]) * 1024 : 0;
}

/** Memory of the trees under `roots` right now (see the header). */
export function treeMemory(roots: readonly number[]): TreeMemory {
  let rss = 0;
  let pss = 0;
  let hwm = 0;
  for (const pid of processTree(roots)) {
    const status = readOrUndefined(`/proc/${pid}/status`);
    rss += kbField(status, 'VmRSS');
    hwm = Math.max(hwm, kbField(status, 'VmHWM'));
    pss += kbField(readOrUndefined(`/proc/${pid}/smaps_rollup`), 'Pss');
  }
  return { rss, pss, hwm };
}

/** Busy CPU seconds of the whole machine so far, all cores (see the header). */
export function machineCpuSeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  if (cpu[0] !== 'cpu') throw new Error('/proc/stat: no cpu line');
  // Fields after the label: user nice system idle iowait irq softirq steal ...
  const busy = [1, 2, 3, 6, 7].reduce((sum, i) => sum + Number(cpu[i] ?? 'x'), 0);
  if (!Number.isFinite(busy)) throw new Error('/proc/stat: cpu line does not parse');
  return busy / clockTicks();
}

/** CPU seconds so far of each thread group of process `pid`: threads named alike (numbered
 *  pool threads such as qmta-fsync-12 count as qmta-fsync) summed. Threads that ended are
 *  not counted (their time is lost to this reading). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const name = readOrUndefined(`/proc/${pid}/task/${tid}/comm`)?.trim().replace(/-\d+$/, '');
    const f = readOrUndefined(`/proc/${pid}/task/${tid}/stat`);
    if (name === undefined || f === undefined) continue;
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(fields[11]) + Number(fields[12])) / clockTicks();
    out.set(name, (out.get(name) ?? 0) + secs);
  }
  return out;
}
