// qmail's retry schedule (qmail.md §2.5), computed from the message's birth per channel.
//
// Interface: nextRetry(birth, now, channel) -> ms of the next attempt; isDying(birth, now,
// lifetime) -> true once the message is past queuelifetime; DYING_LINE, the text qmail
// appends to a deferral it turns into a failure.
// Guarantees: pure; whole seconds as qmail (times are ms since the epoch, the formula runs
// in seconds): next = birth + (floor(sqrt(age)) + skip)^2 with skip 10 local, 20 remote,
// so the k-th retry happens at age (skip*(k-1))^2 whatever the moment the pass started.

export type RetryChannel = 'local' | 'remote';

const SKIP: Record<RetryChannel, number> = { local: 10, remote: 20 };

/** The time (ms) of the next attempt of a pass that starts at `now` (ms). */
export function nextRetry(birth: number, now: number, channel: RetryChannel): number {
  const age = Math.max(0, Math.floor((now - birth) / 1000));
  const n = Math.floor(Math.sqrt(age)) + SKIP[channel];
  return birth + n * n * 1000;
}

/** True when a pass starting at `now` is past the lifetime: deferrals become failures. */
export function isDying(birth: number, now: number, lifetimeSeconds: number): boolean {
  return now > birth + lifetimeSeconds * 1000;
}

/** qmail-send's extra line for a deferral turned into a failure at the end of the lifetime. */
export const DYING_LINE = "I'm not going to try again; this message has been in the queue too long.";
