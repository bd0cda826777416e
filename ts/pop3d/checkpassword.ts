// Runs an external checkpassword program: qmail's interface (cr.yp.to/checkpwd), so a
// site keeps its existing password checker (vchkpw, checkpassword-pam, ...).
//
// Interface: runCheckpassword(argv, user, password, timestamp, timeoutMs) ->
// Outcome<{ home?: string } | 'bad'>.
// Protocol: the program is started as `argv... printenv HOME` with fd 3 a pipe carrying
// "user\0password\0timestamp\0" (timestamp = the APOP banner string; for APOP the
// "password" is the digest); on success a checkpassword program sets up the user and
// execs its remaining arguments, so `printenv HOME` reports the home it chose.
// Exit codes: 0 -> ok; 1 -> 'bad' (wrong password); 2 (misuse), 111 (temporary), any
// other code, a signal, a spawn error or the timeout -> temp 4.3.0.
// Limits: the input is at most 512 bytes as the interface says (longer is refused
// before spawning, as 'bad'); stdout is read up to 4 KiB; the child is killed at timeoutMs.

import { spawn } from 'node:child_process';
import { ok, temp, type Outcome } from '../outcome.js';

const MAX_INPUT = 512;
const MAX_OUTPUT = 4096;

export type CheckResult = { readonly home?: string } | 'bad';

/** Asks the checkpassword program whether `password` is right for `user`. */
export function runCheckpassword(
  argv: readonly string[],
  user: string,
  password: string,
  timestamp: string,
  timeoutMs: number,
): Promise<Outcome<CheckResult>> {
  const input = Buffer.from(`${user}\0${password}\0${timestamp}\0`, 'latin1');
  if (input.length > MAX_INPUT) return Promise.resolve(ok('bad'));
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, [...argv.slice(1), 'printenv', 'HOME'], {
      stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString('latin1');
    });
    const fd3 = child.stdio[3] as NodeJS.WritableStream | null;
    fd3?.on('error', () => undefined); // the program may exit without reading
    fd3?.end(input);
    child.on('error', (err) => resolve(temp('4.3.0', `checkpassword ${argv[0]}: ${err.message}`)));
    // Only success needs stdout to its end; a failure must not wait for a grandchild
    // that still holds the pipe (a checker killed at the timeout).
    child.on('exit', (code, signal) => {
      const done = (): void => resolve(verdict(code, signal, out, argv[0] as string));
      if (code !== 0 || !child.stdout || child.stdout.closed) done();
      else child.stdout.once('close', done);
    });
  });
}

function verdict(code: number | null, signal: NodeJS.Signals | null, out: string, name: string): Outcome<CheckResult> {
  if (code === 0) {
    const home = out.split('\n')[0]?.trim();
    return ok(home ? { home } : {});
  }
  if (code === 1) return ok('bad');
  return temp('4.3.0', `checkpassword ${name} ${signal ? `killed by ${signal}` : `exited ${code}`}`);
}
