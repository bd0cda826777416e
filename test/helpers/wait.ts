// Polling for a condition in end-to-end tests, with a time limit.
//
// until(what, check, ms): resolves with check's first answer that is neither undefined nor
// false; past `ms` it throws "timed out waiting for <what>". waitFor(check, ms): resolves
// with check's last answer when it turns true or `ms` has passed, for a test that asserts
// the answer itself.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` answers (not undefined, not false); throws naming `what` after `ms`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000, stepMs = 50): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(stepMs)) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Polls until `check` is true or `ms` has passed; resolves with its last answer. */
export async function waitFor(check: () => boolean, ms = 10_000, stepMs = 50): Promise<boolean> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await sleep(stepMs);
  return check();
}
