// Postfix's smtp-sink: a C SMTP server, one process, that answers every command at once and
// stores nothing. Under the same smtp-source load as a server, it shows what the load alone
// costs the machine (the client and the kernel's TCP work): the floor under any server's
// figure for issue 14's goal, whatever the server does or stores.
//
// Interface: `startCSink()` -> { port, pid, stop() }.
// Failures: smtp-sink exiting or not greeting within 10 s -> throws (it is stopped first).
// Guarantees: listens on 127.0.0.1 only, runs as nobody (-u; the bench runs as root);
// stop() kills it and waits for its exit, and is idempotent.

import { spawn } from 'node:child_process';
import { needPostfix } from './peer-install.js';
import { freePort, waitForPort } from './peer-postfix.js';

export interface CSink {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startCSink(): Promise<CSink> {
  const port = await freePort();
  // Backlog 1024: smtp-source's 50 sessions connect at once, again and again.
  const child = spawn(needPostfix().smtpSink, ['-u', 'nobody', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitForPort(port, Date.now() + 10_000);
  } catch (e) {
    await stop();
    throw new Error(`smtp-sink did not answer on port ${port}: ${(e as Error).message}`);
  }
  return { port, pid: child.pid!, stop };
}
