// The README's Quick start, run as written: the shell lines of every ```sh block in README.md's
// "Quick start" section (the start line, the Try-it lines, the sendmail example among them)
// are read from README.md at test time, so an edit there is what this test runs.
//
// How each line runs, and why:
// - In a fresh temporary directory standing in for the clone: it holds a symlink to every
//   top-level entry of the repository (dist/, package.json, node_modules/ ...) except
//   qmta-home, so the README's relative paths (dist/ts/cli/main.js, qmta-home/...) keep their
//   meaning and `./qmta-home` starts missing. QMTA_HOME is unset, this Node is first on PATH.
// - In a private network namespace (test/helpers/netns.ts), so the README's fixed ports
//   (127.0.0.1:2525 ...) are used as written without meeting a developer's qmta or another
//   suite run on this machine.
// - `npm install`: not run again; the suite's own `npm install && npm test` did it in this
//   checkout (running it here would fetch from the registry and rewrite node_modules under
//   the tests running beside this one). A line with `npm test` is the line that runs this
//   suite, so it is not run from inside it.
// - `npm start`: package.json's "start" script, whose `npm run build && ` prefix is dropped
//   because the suite built dist/ before any test ran (rebuilding would rewrite dist/ under
//   the other tests); the rest runs as written, in the background, as a user's first
//   terminal, and the other lines wait until the listeners they name accept connections.
//   Any other npm word, or a start script not of that shape, fails the test: teach it.
// - Every other line: `bash -c LINE`, which must exit 0. A line naming an address sends one
//   message: the Maildir that the README's `ls` line names must then hold one more message,
//   delivered to that address (Delivered-To). The `ls` line must list every one of them.

import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';
import { openNetns, type Netns } from '../helpers/netns.js';
import { until } from '../helpers/wait.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const ADDRESS = /[\w.+-]+@[\w.-]*\w/;
/** Commands the README may use that a bare machine lacks, and their Debian packages. */
const DEBIAN: Record<string, string> = { swaks: 'swaks', curl: 'curl' };

/** The lines of every ```sh block in the README section titled `title`, comments kept. */
function shellLines(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/\n```sh\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** The npm words of a line (`npm install && npm start  # ...` -> install, start), or undefined. */
function npmWords(line: string): string[] | undefined {
  if (!line.startsWith('npm ')) return undefined;
  return line.replace(/\s+#.*$/, '').split('&&').map((part) => {
    const m = /^npm (install|start|test)$/.exec(part.trim());
    if (!m?.[1]) throw new Error(`the README test cannot run "${part.trim()}" of: ${line}`);
    return m[1];
  });
}

/** The command `npm start` runs once the build is done. */
function startCommand(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /^npm run build && (.+)$/.exec(pkg.scripts['start'] ?? '');
  if (!m?.[1]) throw new Error(`package.json's start script is not "npm run build && ...": ${pkg.scripts['start']}`);
  return m[1];
}

/** A directory that looks like the clone, without its qmta-home. */
function cloneDir(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'qmta-readme-');
  chmodSync(dir, 0o755);
  for (const name of readdirSync(ROOT)) {
    if (name !== 'qmta-home' && !name.startsWith('.')) symlinkSync(join(ROOT, name), join(dir, name));
  }
  return dir;
}

function installPeers(lines: readonly string[]): void {
  for (const line of lines) {
    for (const segment of line.split(/\||&&/)) {
      const cmd = segment.trim().split(/\s+/)[0] ?? '';
      const pkg = DEBIAN[cmd];
      if (pkg) needCommand(cmd, pkg);
    }
  }
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

async function stopDaemon(daemon: ChildProcess): Promise<void> {
  if (daemon.exitCode !== null || daemon.signalCode !== null || daemon.pid === undefined) return;
  const exited = once(daemon, 'exit');
  process.kill(-daemon.pid, 'SIGTERM');
  const timer = setTimeout(() => daemon.pid !== undefined && process.kill(-daemon.pid, 'SIGKILL'), 40_000);
  await exited;
  clearTimeout(timer);
}

/** Waits until every 127.0.0.1 listener named in `lines` accepts a connection. */
async function waitListening(ns: Netns, lines: readonly string[], cwd: string, env: NodeJS.ProcessEnv, daemon: ChildProcess): Promise<void> {
  const ports = new Set(lines.flatMap((l) => [...l.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1])));
  for (const port of ports) {
    await until(`127.0.0.1:${port} to accept`, async () => {
      if (daemon.exitCode !== null) throw new Error(`the daemon exited with ${daemon.exitCode}`);
      return (await ns.run(`: </dev/tcp/127.0.0.1/${port}`, { cwd, env })).code === 0;
    }, 60_000, 200);
  }
}

test('the Quick start and Try-it lines of README.md deliver every message to the Maildir it names', async (t) => {
  t.timeout(240_000);
  const lines = shellLines(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'Quick start');
  const lsLine = lines.find((l) => /^ls\s/.test(l));
  const maildirArg = lsLine?.split(/\s+/)[1];
  if (!lsLine || !maildirArg) return t.fail('the Quick start no longer shows where the mail arrives (an ls line)');
  installPeers(lines);
  const cwd = cloneDir(t);
  const maildir = join(cwd, maildirArg);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  delete env['QMTA_HOME'];
  const ns = await openNetns();
  t.teardown(() => ns.close());
  let daemon: ChildProcess | undefined;
  let daemonOutput = '';
  t.teardown(() => (daemon ? stopDaemon(daemon) : undefined));
  const sent: string[] = [];
  for (const line of lines) {
    const npm = npmWords(line);
    if (npm) {
      if (!npm.includes('start') || npm.includes('test')) continue;
      daemon = ns.spawnLine(startCommand(), { cwd, env });
      daemon.stdout?.on('data', (c: Buffer) => { daemonOutput += c.toString(); });
      daemon.stderr?.on('data', (c: Buffer) => { daemonOutput += c.toString(); });
      await waitListening(ns, lines, cwd, env, daemon);
      continue;
    }
    const before = listing(maildir);
    const r = await ns.run(line, { cwd, env });
    t.is(r.code, 0, `${line}\n${r.stdout}${r.stderr}\n${daemonOutput}`);
    if (line === lsLine) {
      t.deepEqual(r.stdout.split('\n').filter((n) => n !== '').sort(), listing(maildir), 'ls lists what is there');
      continue;
    }
    const address = ADDRESS.exec(line)?.[0];
    if (!address) continue;
    const added = await until(`the message of "${line}" in ${maildirArg}`, () => {
      const now = listing(maildir).filter((n) => !before.includes(n));
      return now.length > 0 ? now : undefined;
    }, 30_000);
    t.is(added.length, 1, line);
    const message = readFileSync(join(maildir, added[0] ?? ''), 'latin1');
    t.regex(message, new RegExp(`^Delivered-To: ${address.replace(/\./g, '\\.')}$`, 'im'), line);
    sent.push(line);
  }
  t.true(daemon !== undefined, 'the Quick start starts qmta');
  t.true(sent.length >= 1, 'the Quick start sends mail');
  t.is(listing(maildir).length, sent.length, 'every message the lines sent, and nothing else');
});
