// Sends the messages of one passive-queue maildir on to one SMTP peer (serialmail's
// maildirsmtp), over ts/remote's client: one session, reused message after message.
//
// Interface: flushMaildir(spec, deps?) -> Promise<FlushReport>. Messages are taken from
// new/ then cur/, oldest name first; each goes as its own transaction to the recipient
// recovered from its Delivered-To line (envelope.ts).
// Per message: the peer's 2xx after the final dot -> the file is removed (only then);
// 4xx or 5xx, or a bad envelope -> the file stays where it is and the reason is reported
// (maildirsmtp's behaviour: a permanent refusal is left for the administrator, not
// bounced); a connection-level failure (4.4.x: no connection, connection died) ends
// the run, the rest stays untouched for the next flush.
// Guarantees: never rejects; the body copies live in a private temporary folder removed
// at the end; the SMTP session is QUIT at the end.

import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, ok, temp, type Outcome } from '../outcome.js';
import { createRemoteDelivery, type RemoteLog, type RemoteSettings } from '../remote/index.js';
import { copyBody, ioFailure, readEnvelope } from './envelope.js';
import type { Target } from './target.js';

export interface FlushSpec {
  readonly maildir: string;
  /** Removed from the Delivered-To address to give the original recipient (e.g. "dialup-"). */
  readonly prefix: string;
  /** The passive domain (for control/tlsrequired and logs). */
  readonly domain: string;
  readonly target: Target;
  /** helohost, timeouts, TLS and AUTH settings (control/ through ts/daemon/wiring). */
  readonly settings: RemoteSettings;
}

export interface FlushLine {
  readonly file: string;
  readonly recipient?: string;
  readonly outcome: Outcome<string>;
}

export interface FlushReport {
  readonly sent: number;
  readonly temp: number;
  readonly perm: number;
  /** Messages not tried because the peer could not be reached. */
  readonly untried: number;
  readonly lines: readonly FlushLine[];
}

/** The messages waiting: new/ then cur/, each sorted by name (delivery order). */
async function waiting(maildir: string): Promise<Outcome<string[]>> {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      const names = (await readdir(join(maildir, sub))).filter((n) => !n.startsWith('.')).sort();
      files.push(...names.map((n) => join(maildir, sub, n)));
    } catch (err) {
      return ioFailure(err, `read ${join(maildir, sub)}`);
    }
  }
  return ok(files);
}

export async function flushMaildir(spec: FlushSpec, deps: { log?: RemoteLog } = {}): Promise<Outcome<FlushReport>> {
  const listed = await waiting(spec.maildir);
  if (listed.kind !== 'ok') return listed;
  const files = listed.value;
  const remote = createRemoteDelivery(settingsFor(spec), deps);
  const work = await mkdtemp(join(tmpdir(), 'qmta-flush-'));
  const lines: FlushLine[] = [];
  try {
    for (const [i, file] of files.entries()) {
      const line = await sendOne(spec, file, join(work, `body${i}`), remote);
      lines.push(line);
      if (line.outcome.kind === 'temp' && line.outcome.status.startsWith('4.4.')) break;
    }
  } finally {
    await remote.close();
    await rm(work, { recursive: true, force: true });
  }
  return ok(tally(lines, files.length));
}

function tally(lines: readonly FlushLine[], total: number): FlushReport {
  const count = (k: string) => lines.filter((l) => l.outcome.kind === k).length;
  return { sent: count('ok'), temp: count('temp'), perm: count('perm'), untried: total - lines.length, lines };
}

/** Every message to HOST:PORT whatever its domain; one session kept for the whole run. */
function settingsFor(spec: FlushSpec): RemoteSettings {
  const { tcptoPath: _daemons, ...settings } = spec.settings;
  const { target } = spec;
  // The daemon's downed-host file (tcptoPath) is left alone: a flush is not its business.
  return {
    ...settings,
    smtproutes: [{ key: '', relay: target.host, port: target.port }],
    concurrencyRemote: 1, concurrencyPerDomain: 1, sessionIdle: Math.max(60, settings.timeoutRemote),
    localAddresses: [],
  };
}

type Remote = ReturnType<typeof createRemoteDelivery>;

async function sendOne(spec: FlushSpec, file: string, bodyPath: string, remote: Remote): Promise<FlushLine> {
  const env = await readEnvelope(file, spec.prefix);
  if (env.kind !== 'ok') return { file, outcome: env };
  const copied = await copyBody(file, env.value.offset, bodyPath);
  if (copied.kind !== 'ok') return { file, recipient: env.value.recipient, outcome: copied };
  const [result] = await remote.deliver({
    bodyPath, sender: env.value.sender, domain: spec.domain, recipients: [env.value.recipient], id: file,
  });
  await rm(bodyPath, { force: true });
  const outcome = result?.outcome ?? temp('4.3.0', 'no answer from the SMTP client');
  return { file, recipient: env.value.recipient, outcome: outcome.kind === 'ok' ? await removeSent(file, outcome) : outcome };
}

/** The peer took it: remove the file. A file that cannot be removed will be sent again. */
async function removeSent(file: string, sent: Outcome<string> & { kind: 'ok' }): Promise<Outcome<string>> {
  try {
    await unlink(file);
    return sent;
  } catch (err) {
    const f = ioFailure(err, `remove ${file}`);
    return { ...f, text: `${sent.value}; but ${describe(f)}: it will be sent again` };
  }
}
