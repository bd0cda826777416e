// The public types of the SMTP hooks (the embedding API's `hooks` option): what a handler
// gets at each decision point, what it may answer, and the option that registers them.
// The semantics (order, defaults, failures) are in ts/hooks/runner.ts's header and the
// README's "Hooks" section; validation of answers in ts/hooks/verdict.ts.

import type { Readable } from 'node:stream';

/** The SMTP decision points a handler can be registered at. */
export type HookPoint = 'connect' | 'helo' | 'auth' | 'mail' | 'rcpt' | 'data';

/** What an SMTP session has established so far: a read-only snapshot, fresh for each call. */
export interface HookSession {
  /** This session's id, as qmta's log lines name it. */
  readonly id: string;
  /** The client's IP address. */
  readonly remoteAddress: string;
  /** The client's TCP port. */
  readonly remotePort: number;
  /** The address the client connected to. */
  readonly localAddress: string;
  /** The port the client connected to. */
  readonly localPort: number;
  /** The listener: smtp (mail exchange), submission (AUTH required) or smtps (implicit TLS). */
  readonly listener: 'smtp' | 'submission' | 'smtps';
  /** The connection is encrypted (STARTTLS done, or smtps). */
  readonly secure: boolean;
  /** The client's IP is in control/relayclients. */
  readonly relayClient: boolean;
  /** The EHLO/HELO name, once given. */
  readonly helo?: string;
  /** The authenticated user, once AUTH succeeded. */
  readonly user?: string;
  /** The transaction in progress. */
  readonly envelope: HookEnvelope;
}

/** The envelope of the transaction in progress. */
export interface HookEnvelope {
  /** The MAIL FROM address ('' for a bounce), once accepted. */
  readonly mailFrom?: string;
  /** The recipients accepted so far. */
  readonly rcptTo: readonly string[];
}

/** What every handler gets besides its input and the session. */
export interface HookContext {
  /** Aborted when the call runs out of time (hooks.timeoutMs): stop, the answer is no longer wanted. */
  readonly signal: AbortSignal;
}

/** The EHLO or HELO command. */
export interface HeloInput {
  /** The name the client gave. */
  readonly name: string;
  /** true for EHLO, false for HELO. */
  readonly ehlo: boolean;
}

/** The credentials of an AUTH command (PLAIN or LOGIN, only over TLS unless control/authplaintext). */
export interface AuthInput {
  /** The SASL mechanism the client used. */
  readonly method: 'PLAIN' | 'LOGIN';
  /** The identity as the client gave it. */
  readonly username: string;
  /** The password as the client gave it. */
  readonly password: string;
}

/** The address of a MAIL FROM or RCPT TO command and its ESMTP parameters. */
export interface AddressInput {
  /** The address without angle brackets ('' for MAIL FROM:<>). */
  readonly address: string;
  /** ESMTP parameters by upper-case name (SIZE, BODY, SMTPUTF8, ...): the value, or '' for a bare keyword. */
  readonly params: Readonly<Record<string, string>>;
}

/** The message at the end of DATA (or the last BDAT chunk), before it is accepted. */
export interface DataInput {
  /** Its size in bytes. */
  readonly size: number;
  /**
   * The message as it will be queued: qmta's Received line first, LF line ends. A stream
   * of its own for each handler, opened when first read and closed after the call.
   */
  readonly stream: Readable;
}

/** Accept: this decision is made; later handlers and qmta's default for it are skipped. */
export interface HookAccept {
  /** Accept. */
  readonly action: 'accept';
}

/** Accept an AUTH, optionally naming the user the session is authenticated as. */
export interface AuthAccept extends HookAccept {
  /** The authenticated user (printable ASCII, no spaces, at most 255); default: the username given. */
  readonly user?: string;
}

/** Refuse with a permanent reply. */
export interface HookRefuse {
  /** Refuse: a 5xx reply. */
  readonly action: 'refuse';
  /** SMTP code 500-599; default per decision point (554 connect, 550 helo, mail and rcpt, 535 auth, 554 data). */
  readonly code?: number;
  /** RFC 3463 status 5.x.x; default per decision point (5.7.1, 5.7.8 for auth, 5.1.1 for rcpt). */
  readonly status?: string;
  /** The reply text: one line of at most 400 printable ASCII characters. */
  readonly text?: string;
}

/** Defer with a temporary reply: the client tries again later. */
export interface HookDefer {
  /** Defer: a 4xx reply. */
  readonly action: 'defer';
  /** SMTP code 400-499 (421 only at connect); default 421 at connect, 454 at auth, else 451. */
  readonly code?: number;
  /** RFC 3463 status 4.x.x; default 4.7.0 at connect and auth, else 4.7.1. */
  readonly status?: string;
  /** The reply text: one line of at most 400 printable ASCII characters. */
  readonly text?: string;
}

/** A handler's answer: nothing (no opinion: the next handler, then qmta's default), accept, refuse or defer. */
export type HookVerdict = void | null | undefined | HookAccept | HookRefuse | HookDefer;

/** An AUTH handler's answer: a {@link HookVerdict}, or an accept naming the user. */
export type AuthVerdict = HookVerdict | AuthAccept;

/** What a handler returns: its verdict, or a promise of it. */
export type HookResult<V = HookVerdict> = V | Promise<V>;

/** A handler at connection time, before the greeting. */
export type ConnectHook = (session: HookSession, ctx: HookContext) => HookResult;
/** A handler for EHLO and HELO. */
export type HeloHook = (helo: HeloInput, session: HookSession, ctx: HookContext) => HookResult;
/** A handler for AUTH: checks the credentials against the application's users. */
export type AuthHook = (auth: AuthInput, session: HookSession, ctx: HookContext) => HookResult<AuthVerdict>;
/** A handler for MAIL FROM. */
export type MailHook = (from: AddressInput, session: HookSession, ctx: HookContext) => HookResult;
/** A handler for RCPT TO: an accept makes the recipient known (no users/assign check); its
 *  mail goes to the store if it claims it, else by users/assign and dot-qmail. */
export type RcptHook = (to: AddressInput, session: HookSession, ctx: HookContext) => HookResult;
/** A handler at the end of DATA, with the message as a stream (content checks). */
export type DataHook = (message: DataInput, session: HookSession, ctx: HookContext) => HookResult;

/** One handler or several, called in the order given. */
export type OneOrMore<H> = H | readonly H[];

/**
 * The SMTP hooks: handlers added to qmta's own policy at each decision point. qmta's own
 * checks run first and cannot be overridden (protocol, limits, denyclients, relay control,
 * badmailfrom, AUTH required on submission); then the handlers, in order, until one
 * accepts, refuses or defers; then, if none did, qmta's default (accept; at AUTH
 * users/passwd; at RCPT the store's claim, then users/assign). A handler that throws,
 * times out or answers something malformed gives 451 4.3.0 (421 at connect) and is logged.
 */
export interface SmtpHooks {
  /** At connection, before the greeting; a refusal or deferral ends the session. */
  readonly connect?: OneOrMore<ConnectHook>;
  /** At EHLO and HELO. */
  readonly helo?: OneOrMore<HeloHook>;
  /** At AUTH: accept (optionally as another user), refuse (535) or defer (454). */
  readonly auth?: OneOrMore<AuthHook>;
  /** At MAIL FROM. */
  readonly mail?: OneOrMore<MailHook>;
  /** At each RCPT TO. */
  readonly rcpt?: OneOrMore<RcptHook>;
  /** At the end of DATA, with the message. */
  readonly data?: OneOrMore<DataHook>;
  /** Time limit of one handler call in ms (default 30000); past it the call counts as failed. */
  readonly timeoutMs?: number;
}
