// Installs Postfix (the benchmark's load client smtp-source and its performance peer) and
// makes sure the install leaves no system Postfix running.
//
// Interface: `needPostfix()` -> paths of smtp-source, postfix, postmap, postconf and the
// daemon directory. Synchronous, once per process.
// Failures: not root and Postfix missing -> throws (install Debian package postfix by hand);
// apt-get failing -> throws with its stderr. Callers are benchmarks and tests, not mail paths.
// Guarantees: Debian's package is installed non-interactively with the "No configuration"
// mailer type preseeded, so no /etc/postfix/main.cf is written and nothing listens on port
// 25. If a system Postfix was already installed and running (someone picked "Internet
// Site"), it is stopped and disabled: a benchmark must not share the machine with a second
// MTA, and port 25 is never opened by surprise. The apt lock file is the one
// test/helpers/debian.ts uses, so concurrent installers serialise.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PostfixTools {
  readonly smtpSource: string;
  /** Postfix's C test server that stores nothing (bench/peer-csink.ts). */
  readonly smtpSink: string;
  readonly postfix: string;
  readonly postmap: string;
  readonly postconf: string;
  /** Where master, smtpd, virtual... live (postconf -d daemon_directory). */
  readonly daemonDirectory: string;
}

const PRESEED = 'postfix postfix/main_mailer_type select No configuration';
let tools: PostfixTools | undefined;

function which(cmd: string): string | undefined {
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', env: { ...process.env, PATH: path } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function install(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('smtp-source/postfix are missing and this process is not root: install Debian package postfix');
  }
  const script =
    `echo '${PRESEED}' | debconf-set-selections; ` +
    '[ -f /tmp/qmta-apt-updated ] || { apt-get update -qq && touch /tmp/qmta-apt-updated; }; ' +
    'apt-get install -y -qq --no-install-recommends postfix';
  execFileSync('flock', ['/tmp/qmta-apt.lock', 'sh', '-c', script], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 600_000,
  });
}

/** Stops and disables a system Postfix (default config directory) if one is running. */
function quiesceSystemPostfix(postfix: string): void {
  if (existsSync('/etc/postfix/main.cf')) {
    // `postfix status` exits 0 only while the system master runs.
    if (spawnSync(postfix, ['status'], { stdio: 'ignore' }).status === 0) {
      spawnSync(postfix, ['stop'], { stdio: 'ignore' });
    }
  }
  // Keep it from coming back at the next boot; each tool may be absent, which is fine.
  if (existsSync('/run/systemd/system')) spawnSync('systemctl', ['disable', '--now', 'postfix'], { stdio: 'ignore' });
  spawnSync('update-rc.d', ['postfix', 'disable'], { stdio: 'ignore' });
}

function find(cmd: string): string {
  const path = which(cmd);
  if (!path) throw new Error(`installing postfix did not provide ${cmd}`);
  return path;
}

/** Postfix's tools, installing Debian package postfix first when they are missing. */
export function needPostfix(): PostfixTools {
  if (tools) return tools;
  if (!which('smtp-source') || !which('postfix') || !which('postmap')) install();
  const postfix = find('postfix');
  quiesceSystemPostfix(postfix);
  const postconf = find('postconf');
  const daemonDirectory = execFileSync(postconf, ['-dh', 'daemon_directory'], { encoding: 'utf8' }).trim();
  tools = { smtpSource: find('smtp-source'), smtpSink: find('smtp-sink'), postfix, postmap: find('postmap'), postconf, daemonDirectory };
  return tools;
}
