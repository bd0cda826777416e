// Who may log in: USER/PASS and APOP checked against users/passwd and the APOP secrets
// (through injected functions from ts/users), or against a checkpassword program.
//
// Interface: Authenticator (the dependency shape ts/users fulfils), authenticate(...)
// -> Outcome<{ user, home? } | 'bad'>.
// APOP (RFC 1939 §7): digest = MD5(timestamp + secret) in lower-case hex, compared in
// constant time. The secret must be readable by the server, so it is cleartext-equivalent
// and kept apart from the scrypt hashes (users/ module documents the file).
// With checkpassword configured, USER/PASS goes to the program (with the session's timestamp,
// as qmail-popup passes it) and APOP is not offered: qmail-popup handed the digest to the
// program, but most programs (checkpassword, checkpassword-pam) cannot check one.
// APOP is offered (the greeting's timestamp) only where it can succeed, as Dovecot does
// (its greeting has the challenge only when the APOP mechanism is enabled): when some user
// has an APOP secret and no checkpassword program replaces users/passwd. qmail-popup always
// sends one; but clients (curl, ...) log in with APOP whenever they see a timestamp, so
// password-only users could not log in at all. See apopOffered.
// Failures: a lookup or program that fails temporarily -> temp 4.3.0, passed through;
// unknown user and wrong password look the same ('bad') so names cannot be probed.

import { createHash, timingSafeEqual } from 'node:crypto';
import { ok, type Outcome } from '../outcome.js';
import { runCheckpassword } from './checkpassword.js';

export interface Authenticator {
  /** users/passwd: true when `password` is the user's password (false for no such user). */
  verifyPassword(user: string, password: string): Promise<Outcome<boolean>>;
  /** The user's APOP secret, undefined when the user has none. */
  apopSecret(user: string): Promise<Outcome<string | undefined>>;
  /** True when at least one user has an APOP secret. */
  anyApopSecret(): Promise<Outcome<boolean>>;
}

export type Credentials =
  | { readonly kind: 'pass'; readonly user: string; readonly password: string }
  | { readonly kind: 'apop'; readonly user: string; readonly digest: string };

export type AuthResult = { readonly user: string; readonly home?: string } | 'bad';

export interface AuthContext {
  readonly auth: Authenticator;
  readonly checkpassword?: readonly string[];
  readonly checkpasswordTimeoutMs: number;
  /** The banner's `<pid.time@host>`. */
  readonly timestamp: string;
}

/** Checks credentials; 'bad' for a wrong password or unknown user. */
export async function authenticate(ctx: AuthContext, c: Credentials): Promise<Outcome<AuthResult>> {
  if (ctx.checkpassword) {
    if (c.kind !== 'pass') return ok('bad');
    const r = await runCheckpassword(ctx.checkpassword, c.user, c.password, ctx.timestamp, ctx.checkpasswordTimeoutMs);
    if (r.kind !== 'ok') return r;
    return ok(r.value === 'bad' ? 'bad' : { user: c.user, ...r.value });
  }
  if (c.kind === 'pass') {
    const r = await ctx.auth.verifyPassword(c.user, c.password);
    if (r.kind !== 'ok') return r;
    return ok(r.value ? { user: c.user } : 'bad');
  }
  const secret = await ctx.auth.apopSecret(c.user);
  if (secret.kind !== 'ok') return secret;
  return ok(secret.value !== undefined && apopMatches(ctx.timestamp, secret.value, c.digest) ? { user: c.user } : 'bad');
}

/** RFC 1939 §7: does `digest` equal MD5(timestamp + secret)? */
export function apopMatches(timestamp: string, secret: string, digest: string): boolean {
  const want = createHash('md5').update(timestamp + secret, 'utf8').digest();
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) return false;
  return timingSafeEqual(want, Buffer.from(digest, 'hex'));
}

/** Whether a greeting offers APOP: only when some user has a secret and no checkpassword runs. */
export async function apopOffered(auth: Authenticator, checkpassword: readonly string[] | undefined): Promise<Outcome<boolean>> {
  if (checkpassword) return ok(false);
  return auth.anyApopSecret();
}
