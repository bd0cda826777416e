// `qmta local-run -- TIMEOUT user home local dash ext domain sender` (hidden): qmail-local
// run by the helper as the mailbox owner, with the queue's message file as stdin and the
// daemon's reply socket as stdout. It reads the owner's .qmail files, writes the owner's
// mailboxes and runs the owner's programs, all as the owner (ts/local's runLocal).
//
// Interface: localRun(argv) -> exit code; prints one JSON report on stdout: {outcome,
// forwards, newSender, dtline, writes, env} (constraint shared with report.ts, which
// checks it); writes and env (the new-mail notice's part) are left out when they would
// make the report longer than REPORT_MAX or list more than MAX_WRITES mailboxes: the
// delivery stands either way, only its notices are lost.
// The message: the owner may not open the queue's file by name, so it is first copied
// from stdin into an unnamed file of the owner's (O_TMPFILE in the temp folder), which
// the mailbox writers and programs open as /proc/self/fd/N.
// Failures: bad arguments or an unreadable stdin -> a temp report (the daemon retries).

import { tmpdir } from 'node:os';
import { privateCopy } from '../native.js';
import { temp, type Outcome } from '../outcome.js';
import { runLocal } from '../local/run.js';
import type { MailboxWrite } from '../notify/types.js';
import { MAX_WRITES, REPORT_MAX } from './report.js';

type Report = { outcome: Outcome<string>; forwards?: string[]; newSender?: string; dtline?: string; writes?: readonly MailboxWrite[]; env?: Record<string, string> };

function report(r: Report): number {
  let text = JSON.stringify(r);
  if (Buffer.byteLength(text) >= REPORT_MAX || (r.writes?.length ?? 0) > MAX_WRITES) text = JSON.stringify({ ...r, writes: [], env: {} });
  process.stdout.write(`${text}\n`);
  return 0;
}

/** Runs one delivery as the current (owner's) uid. */
export async function localRun(argv: readonly string[]): Promise<number> {
  if (argv.length !== 8 || !/^\d{1,10}$/.test(argv[0]!)) return report({ outcome: temp('4.3.0', 'local-run: bad arguments') });
  const [timeout, user, home, local, dash, ext, domain, sender] = argv as [string, string, string, string, string, string, string, string];
  const copy = privateCopy(0, tmpdir());
  if (copy.kind !== 'ok') return report({ outcome: copy });
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TZ']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  const r = await runLocal({
    bodyPath: `/proc/self/fd/${copy.value}`, sender, local, domain,
    assignment: { user, uid: process.getuid!(), gid: process.getgid!(), home, dash, ext },
    asOwner: false, programTimeoutMs: Number(timeout), baseEnv: env,
  }, 'worker');
  return report({ outcome: r!.outcome, forwards: r!.forwards, newSender: r!.newSender, dtline: r!.dtline, writes: r!.writes, env: { ...r!.env } });
}
