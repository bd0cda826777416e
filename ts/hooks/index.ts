// The SMTP hooks: the application's handlers at the SMTP decision points (connection,
// EHLO/HELO, AUTH, MAIL, RCPT, end of DATA), added to qmta's own policy.
//
// Interface: createHookRunner (runner.ts: order, time limits, failures, the store's claim at
// RCPT), checkHooks (the option's shape), the public types (types.ts). The SMTP session
// calls the runner at each decision point; ts/index.ts takes the `hooks` option.

export { createHookRunner, HOOK_TIMEOUT_MS, type DataSource, type HookDecision, type HookRunner, type HookRunnerOptions, type RcptDecision } from './runner.js';
export { checkHooks, failureReply, type HookReply } from './verdict.js';
export type * from './types.js';
