// Who is sending, read from the environment the way qmail-inject reads it: the user, host and
// personal name of the default From, the user and host of the default envelope sender, the
// QMAILINJECT option letters and the QMAIL* overrides of the control files.
//
// Interface: identityFromEnv(env) -> Identity; controlsFromEnv(base, env) -> InjectControls.
// Failures: none: every variable has a default (user "anonymous", hosts from control files).
// Guarantees: pure; precedence is qmail's (QMAILUSER > MAILUSER > USER > LOGNAME; QMAILHOST >
// MAILHOST; QMAILNAME > MAILNAME > NAME; QMAILSUSER defaults to the user, QMAILSHOST to the
// host); unknown QMAILINJECT letters are ignored, as qmail does.

/** Environment variables qmail-inject reads (QMAILUSER, QMAILHOST, QMAILINJECT, ...). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface InjectFlags {
  /** c: default From as "user@host (Name)". */
  readonly nameComment: boolean;
  /** s: ignore and delete an incoming Return-Path. */
  readonly deleteReturnPath: boolean;
  /** f: delete an incoming From (a new one is made). */
  readonly deleteFrom: boolean;
  /** i: delete an incoming Message-ID (a new one is made). */
  readonly deleteMessageId: boolean;
  /** r: per-recipient VERP: the envelope sender gets "-@[]". */
  readonly verpRecipient: boolean;
  /** m: per-message VERP: the default sender's user gets "-<time>.<pid>". */
  readonly verpMessage: boolean;
}

export interface Identity {
  readonly flags: InjectFlags;
  /** User part of the default From. */
  readonly user: string;
  /** Host part of the default From; undefined means completion with defaulthost. */
  readonly host: string | undefined;
  /** Personal name of the default From. */
  readonly name: string | undefined;
  /** User part of the default envelope sender. */
  readonly senderUser: string;
  /** Host part of the default envelope sender. */
  readonly senderHost: string | undefined;
}

/** The control values qmail-inject reads (control/defaulthost ... idhost), and locals. */
export interface InjectControls {
  readonly defaulthost: string;
  readonly defaultdomain: string;
  readonly plusdomain: string;
  readonly idhost: string;
  /** Dotless names here are never qualified with defaultdomain (complete.ts). */
  readonly locals: readonly string[];
}

function first(env: Env, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Parses QMAILINJECT's letters. */
export function parseFlags(letters: string | undefined): InjectFlags {
  const has = (c: string): boolean => (letters ?? '').includes(c);
  return {
    nameComment: has('c'),
    deleteReturnPath: has('s'),
    deleteFrom: has('f'),
    deleteMessageId: has('i'),
    verpRecipient: has('r'),
    verpMessage: has('m'),
  };
}

/** The sending identity from qmail-inject's environment variables. */
export function identityFromEnv(env: Env): Identity {
  const user = first(env, ['QMAILUSER', 'MAILUSER', 'USER', 'LOGNAME']) ?? 'anonymous';
  const host = first(env, ['QMAILHOST', 'MAILHOST']);
  return {
    flags: parseFlags(env['QMAILINJECT']),
    user,
    host,
    name: first(env, ['QMAILNAME', 'MAILNAME', 'NAME']),
    senderUser: env['QMAILSUSER'] ?? user,
    senderHost: env['QMAILSHOST'] ?? host,
  };
}

/** Control values with QMAILDEFAULTDOMAIN, QMAILDEFAULTHOST, QMAILPLUSDOMAIN, QMAILIDHOST applied. */
export function controlsFromEnv(base: InjectControls, env: Env): InjectControls {
  return {
    defaulthost: env['QMAILDEFAULTHOST'] ?? base.defaulthost,
    defaultdomain: env['QMAILDEFAULTDOMAIN'] ?? base.defaultdomain,
    plusdomain: env['QMAILPLUSDOMAIN'] ?? base.plusdomain,
    idhost: env['QMAILIDHOST'] ?? base.idhost,
    locals: base.locals,
  };
}
