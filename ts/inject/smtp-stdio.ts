// `sendmail -bs`: an SMTP session on stdin/stdout, served by qmta's own SMTP service
// (ts/smtpd), as qmail's wrapper runs qmail-smtpd with RELAYCLIENT set and no size limit.
//
// Interface: smtpOnStdio(io) -> exit code.
// How: a one-connection listener on 127.0.0.1 port 0 is started with the home's settings,
// relaying allowed for the loopback client (the caller is a local program, as with qmail's
// RELAYCLIENT=), and stdin/stdout are piped to a connection to it; the listener is closed when
// the session ends. The listener accepts a single connection (maxConnections 1); it grants
// nothing the daemon's default loopback relaying (control/relayclients) does not.
// Exit codes: 0 when the session ended; 111 when the configuration or queue cannot be used.

import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { openQueue } from '../queue/index.js';
import { startSmtpd } from '../smtpd/index.js';
import { smtpdSettings } from '../smtpd/service.js';
import type { SendmailIo } from './sendmail.js';

/** After stdin has ended, how long the server may stay silent before the session is closed. */
const QUIET_MS = 2000;

function die(io: SendmailIo, text: string): number {
  io.stderr.write(`sendmail: fatal: ${text}\n`);
  return 111;
}

/** Runs one SMTP session between stdin/stdout and the queue of io.home. */
export async function smtpOnStdio(io: SendmailIo): Promise<number> {
  const c = await loadConfig(io.home);
  if (c.kind !== 'ok') return die(io, `${c.text} (#${c.status})`);
  const q = openQueue(join(io.home, 'queue'));
  if (q.kind !== 'ok') return die(io, `${q.text} (#${q.status})`);
  // The home's SMTP settings, with qmail's -bs environment: RELAYCLIENT set, DATABYTES=0;
  // one plain listener, no TLS (the session never leaves this host).
  const { tls: _tls, ...base } = smtpdSettings(c.value);
  const handle = await startSmtpd({
    ...base, smtp: [{ host: '127.0.0.1', port: 0 }], submission: [], smtps: [],
    relayClients: ['127.0.0.1'], deny: [], databytes: 0, maxConnections: 1, maxPerIp: 1,
  }, { queue: q.value });
  const port = handle.addresses[0]?.port ?? 0;
  const sock = connect(port, '127.0.0.1');
  // stdin's end is not passed on at once: a client that wrote all its commands (QUIT
  // included) before reading would otherwise lose the replies; the session ends when the
  // server closes, or after QUIET_MS without a reply once stdin has ended.
  io.stdin.pipe(sock, { end: false });
  sock.pipe(io.stdout, { end: false });
  let timer: NodeJS.Timeout | undefined;
  const quietEnd = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => sock.end(), QUIET_MS);
  };
  io.stdin.once('end', () => {
    quietEnd();
    sock.on('data', quietEnd);
  });
  await new Promise<void>((resolve) => {
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  clearTimeout(timer);
  io.stdin.unpipe(sock);
  await handle.close();
  return 0;
}
