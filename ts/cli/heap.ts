// The daemon's V8 young generation cap. Node 24's V8 grows the young generation with the
// load, up to 64 MB per semi-space (128 MB of new space, measured: bench/smtp-e2e --goal
// peaked at 239 MB PSS with only ~25 MB of live JavaScript objects); a long-running MTA
// gains nothing from it but RSS. Capped at SEMI_SPACE_MB the daemon stays near its
// working set (~130 MB PSS under 50 connections) for a few more scavenges, each cheap
// because little of an SMTP transaction's garbage survives.
//
// Interface: withHeapCap() re-executes the current command with the flag, in place
// (process.execve: same pid, same descriptors, so systemd, prebound sockets and parents
// waiting on the pid see nothing change), unless the flag is already on the command
// line or in NODE_OPTIONS (an operator's choice wins) or the runtime lacks execve.
// Returns only when no re-execution happens.

export const SEMI_SPACE_MB = 8;
const FLAG = '--max-semi-space-size';

/** Whether the flag is already given, on node's command line or in NODE_OPTIONS. */
export function heapCapGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => a === FLAG || a.startsWith(`${FLAG}=`));
}

/** Re-executes this process with the cap; see the header. */
export function withHeapCap(): void {
  if (heapCapGiven(process.execArgv, process.env.NODE_OPTIONS) || typeof process.execve !== 'function') return;
  const argv = [process.execPath, `${FLAG}=${SEMI_SPACE_MB}`, ...process.execArgv, ...process.argv.slice(1)];
  process.execve(process.execPath, argv, process.env);
}
