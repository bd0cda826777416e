// Installs the Debian package that provides a command a test needs, once per machine.
// A fresh machine has none of the real peers (mutt, swaks, postfix, fetchmail...), so
// the tests fetch them themselves; an apt lock serialises concurrent ava workers.

import { execFileSync, spawnSync } from 'node:child_process';

const installed = new Map<string, string>();

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The path of `cmd`, installing Debian package `pkg` first when it is missing. */
export function needCommand(cmd: string, pkg: string): string {
  const known = installed.get(cmd) ?? which(cmd);
  if (known) return known;
  aptInstall(cmd, pkg);
  const path = which(cmd);
  if (!path) throw new Error(`installing ${pkg} did not provide ${cmd}`);
  installed.set(cmd, path);
  return path;
}

/** Debian's python3 (/usr/bin/python3) able to import `module`, installing `pkg` when it cannot. */
export function needPythonModule(module: string, pkg: string): string {
  const py = '/usr/bin/python3';
  const can = () => spawnSync(py, ['-c', `import ${module}`]).status === 0;
  if (!can()) aptInstall(`python module ${module}`, pkg);
  if (!can()) throw new Error(`installing ${pkg} did not provide ${module}`);
  return py;
}

function aptInstall(what: string, pkg: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} is missing and this test is not root: install Debian package ${pkg}`);
  }
  const script =
    '[ -f /tmp/qmta-apt-updated ] || { apt-get update -qq && touch /tmp/qmta-apt-updated; }; ' +
    `apt-get install -y -qq --no-install-recommends ${pkg}`;
  execFileSync('flock', ['/tmp/qmta-apt.lock', 'sh', '-c', script], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 600_000,
  });
}
