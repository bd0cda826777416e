// Runs every benchmark in turn and prints each one's table under a header describing the
// machine: `node dist/bench/run.js [--quick] [--only queue,smtp-e2e]` (`npm run bench`
// builds first). Each benchmark runs as its own child process (`node dist/bench/X.js`),
// so one's memory, threads and open files never colour the next one's figures, with its
// own defaults, or with small sizes under --quick (a check that everything runs, not a
// measurement).
//
// Interface: `BENCHES` (name, file, quick arguments), `machineHeader()` -> text; standalone
// as above. The smtp-e2e and floor benchmarks must run as root (their Postfix peer).
// Failures: a benchmark exiting non-zero is reported by name and the others still run; the
// exit code is then 1. A machine fact that cannot be read prints as "?".
// Guarantees: benchmarks run one at a time, in the order of BENCHES; the header gives
// nproc, memory, kernel, the filesystem under the temp dir (type, source, mount options),
// the load average at start, Node's version and the date (UTC), and every benchmark's
// table is preceded by its command line and followed by its wall time and the load average.

import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface Bench {
  readonly name: string;
  /** Script under dist/bench. */
  readonly file: string;
  /** Arguments under --quick: small sizes, one run. */
  readonly quick: readonly string[];
}

export const BENCHES: readonly Bench[] = [
  { name: 'queue', file: 'queue.js', quick: ['--runs', '1', '--count', '300'] },
  { name: 'maildir', file: 'maildir.js', quick: ['--runs', '1', '--seconds', '0.3', '--levels', '1,8'] },
  { name: 'deliver', file: 'deliver.js', quick: ['--messages', '500', '--users', '10'] },
  { name: 'smtp-e2e', file: 'smtp-e2e.js', quick: ['--messages', '500', '--connections', '10', '--users', '10', '--runs', '1'] },
  { name: 'floor', file: 'floor.js', quick: ['--messages', '500', '--connections', '10', '--users', '10', '--runs', '1'] },
  { name: 'remote', file: 'remote.js', quick: ['--messages', '500', '--domains', '10', '--runs', '1'] },
  { name: 'inject', file: 'inject.js', quick: ['--runs', '1', '--messages', '50', '--process-messages', '5'] },
  { name: 'dkim', file: 'dkim.js', quick: ['--runs', '1', '--messages', '20'] },
  { name: 'hooks', file: 'hooks.js', quick: ['--runs', '1', '--messages', '1000'] },
];

function read(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return '?';
  }
}

/** The machine the figures come from; see the header. */
export function machineHeader(): string {
  const dir = tmpdir();
  const fs = read('findmnt', ['-n', '-o', 'FSTYPE,SOURCE,OPTIONS', '-T', dir]);
  const df = read('df', ['-hT', dir]).split('\n')[1]?.replace(/\s+/g, ' ') ?? '?';
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return [
    `# qmta benchmarks, ${new Date().toISOString()}`,
    `# machine: nproc ${availableParallelism()}, memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB, kernel ${release()}, node ${process.version}`,
    `# temp dir ${dir}: ${fs} (df: ${df})`,
    `# load average at start (1, 5, 15 min): ${load}`,
  ].join('\n');
}

/** Runs one benchmark with inherited output; resolves to its exit code. */
function runOne(b: Bench, quick: boolean): Promise<number> {
  const script = new URL(`./${b.file}`, import.meta.url).pathname;
  const args = quick ? [...b.quick] : [];
  console.log(`\n## ${b.name}: node dist/bench/${b.file}${args.length > 0 ? ` ${args.join(' ')}` : ''}`);
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => {
      const s = ((Date.now() - start) / 1000).toFixed(0);
      console.log(`## ${b.name}: ${code === 0 ? 'done' : `FAILED (${signal ?? code})`} in ${s} s, load average ${loadavg()[0]!.toFixed(2)}`);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const only = values.only?.split(',');
  const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
  console.log(machineHeader());
  if (values.quick) console.log('# --quick: small sizes, one run each: proves the benchmarks run, not how fast');
  const failed: string[] = [];
  for (const b of BENCHES.filter((x) => !only || only.includes(x.name))) {
    if ((await runOne(b, values.quick)) !== 0) failed.push(b.name);
  }
  if (failed.length > 0) {
    console.log(`\n# failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
