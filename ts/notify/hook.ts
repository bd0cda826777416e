// Running control/newmailhook for one new message: a program (through /bin/sh -c, with
// the delivery's environment plus NEWMAIL_* variables) or an http(s) URL (POSTed a small
// JSON object). Fire-and-forget: the delivery never waits for it.
//
// Interface: runHook(hook, event, notice, timeoutMs) -> Promise<HookResult>, never rejects.
// Failures (reported as values, the caller logs them): the program exits non-zero, is
// killed by a signal, cannot start, or runs longer than timeoutMs (then SIGKILLed with its
// process group); the URL cannot be reached, answers non-2xx, or answers slower than
// timeoutMs (request aborted).
// The program runs in the user's home, or in / when the daemon cannot enter it (a system
// account's home closed to the qmta account).
// Guarantees: the program's stdin is empty and its stdout discarded; at most
// STDERR_KEEP bytes of its stderr are kept for the log; the response body is discarded.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { DeliveryNotice, NewMailEvent } from './types.js';

export type HookResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const STDERR_KEEP = 1000;

/** True when the hook is a URL rather than a program. */
export function isUrlHook(hook: string): boolean {
  return /^https?:\/\//i.test(hook);
}

export function runHook(hook: string, event: NewMailEvent, notice: DeliveryNotice, timeoutMs: number): Promise<HookResult> {
  return isUrlHook(hook) ? postHook(hook, event, timeoutMs) : programHook(hook, event, notice, timeoutMs);
}

/** The NEWMAIL_* variables a program hook gets on top of the delivery's environment. */
export function hookEnv(event: NewMailEvent, notice: DeliveryNotice): Record<string, string> {
  return {
    ...notice.env,
    NEWMAIL_USER: event.user,
    NEWMAIL_RECIPIENT: event.recipient,
    NEWMAIL_SENDER: event.sender,
    ...(event.maildir !== undefined ? { NEWMAIL_MAILDIR: event.maildir } : {}),
    ...(event.file !== undefined ? { NEWMAIL_FILE: event.file } : {}),
    ...(event.mbox !== undefined ? { NEWMAIL_MBOX: event.mbox } : {}),
  };
}

function programHook(command: string, event: NewMailEvent, notice: DeliveryNotice, timeoutMs: number): Promise<HookResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: enterable(notice.home) ? notice.home : '/', env: hookEnv(event, notice), stdio: ['ignore', 'ignore', 'pipe'], detached: true,
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (b: Buffer) => { if (stderr.length < STDERR_KEEP) stderr += b.toString('utf8', 0, STDERR_KEEP); });
    // Its own process group, so a timeout also ends whatever the shell started.
    const timer = setTimeout(() => { timedOut = true; killGroup(child.pid); }, timeoutMs);
    timer.unref();
    child.on('error', (err) => { clearTimeout(timer); resolve({ ok: false, reason: `cannot run: ${err.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const why = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ ok: false, reason: `${why}${stderr ? `: ${stderr.slice(0, STDERR_KEEP).trim()}` : ''}` });
    });
  });
}

function enterable(dir: string): boolean {
  try {
    accessSync(dir, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function postHook(url: string, event: NewMailEvent, timeoutMs: number): Promise<HookResult> {
  try {
    const res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event), signal: AbortSignal.timeout(timeoutMs), redirect: 'manual',
    });
    await res.body?.cancel();
    return res.ok ? { ok: true } : { ok: false, reason: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error;
    const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${e.message}${causeOf(e)}`;
    return { ok: false, reason };
  }
}

function causeOf(e: Error): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c ? ` (${c.code ?? c.message ?? ''})` : '';
}
