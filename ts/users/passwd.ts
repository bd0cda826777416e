// users/passwd (scrypt hashes for SMTP AUTH and POP3) and users/apop (APOP secrets).
//
// Interface:
//   hashPassword(pw) -> Promise<string>       the stored form "scrypt:N:r:p:SALT:HASH" (base64)
//   checkPassword(home, name, pw, locals?) -> Promise<Outcome<boolean>>
//   verifyPassword(home, name, pw, locals?) -> Promise<boolean>   (false on any failure)
//   apopSecret(home, name, locals?) -> Promise<Outcome<string | undefined>>
//   readSecrets(home, file) / secretsText(map)  the name:value line files, for manage.ts
// `name` is the bare user, or user@domain for a domain in `locals` (read from control/locals,
// default control/me, when not given). Names compare case-insensitively.
// users/apop holds `name:secret` in clear: APOP needs a secret the server can read, so it is
// cleartext-equivalent; the file is mode 0600 and kept apart from the hashes.
// Failures: unreadable or oversized file -> temp 4.3.0 / 4.3.5; a hash line with parameters
// out of bounds -> temp 4.3.5 (never an unbounded scrypt).
// Guarantees: hashes compare in constant time; an unknown user costs one scrypt too, so
// timing does not tell which names exist; passwords over MAX_PASSWORD_BYTES never match.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { firstLine, listLines, readControl } from '../config/read.js';
import { ok, temp, type Outcome } from '../outcome.js';

export const MAX_PASSWORD_BYTES = 1024;
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const PARAMS = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

export type SecretsFile = 'passwd' | 'apop';

function derive(pw: string, salt: Buffer, o: { N: number; r: number; p: number }, len: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r + 1024 * 1024 };
  return new Promise((res, rej) => scrypt(pw, salt, len, opts, (e, k) => (e ? rej(e) : res(k))));
}

/** The stored form of a password: scrypt with a fresh 16-byte salt and its parameters. */
export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pw, salt, PARAMS, KEYLEN);
  return `scrypt:${PARAMS.N}:${PARAMS.r}:${PARAMS.p}:${salt.toString('base64')}:${key.toString('base64')}`;
}

interface StoredHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parseHash(stored: string): StoredHash | undefined {
  const f = stored.split(':');
  if (f.length !== 6 || f[0] !== 'scrypt') return undefined;
  const [N, r, p] = [Number(f[1]), Number(f[2]), Number(f[3])];
  const powerOfTwo = Number.isInteger(N) && N >= 1024 && N <= 1 << 20 && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(f[4]!, 'base64');
  const key = Buffer.from(f[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return undefined;
  return { N, r, p, salt, key };
}

/** True when `pw` matches the stored hash; bad stored text is a failure, not a mismatch. */
export async function matchHash(stored: string, pw: string): Promise<Outcome<boolean>> {
  const h = parseHash(stored);
  if (!h) return temp('4.3.5', 'users/passwd: unreadable hash entry');
  const key = await derive(pw, h.salt, h, h.key.length);
  return ok(timingSafeEqual(key, h.key));
}

/** Reads HOME/users/FILE as name -> value (names lowercased); a missing file is empty. */
export async function readSecrets(home: string, file: SecretsFile): Promise<Outcome<Map<string, string>>> {
  const path = join(home, 'users', file);
  let text: string;
  try {
    if ((await stat(path)).size > MAX_FILE_BYTES) return temp('4.3.5', `users/${file} is too large`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return ok(new Map());
    return temp('4.3.0', `unable to read users/${file}: ${code ?? String(err)}`);
  }
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1));
  }
  return ok(map);
}

/** Prints a name -> value map in the users/passwd and users/apop format. */
export function secretsText(map: ReadonlyMap<string, string>): string {
  return [...map].map(([name, value]) => `${name}:${value}\n`).join('');
}

/** control/locals as config reads it (default: control/me, else the host name). */
async function localDomains(home: string): Promise<string[]> {
  const locals = await readControl(home, 'locals');
  if (locals.kind === 'ok' && locals.value) return listLines(locals.value).map((e) => e.text.toLowerCase());
  const me = await readControl(home, 'me');
  if (me.kind === 'ok' && me.value) return [firstLine(me.value).toLowerCase()];
  return [hostname().toLowerCase()];
}

/** The bare user name for an AUTH/POP3 login, or undefined when the domain is not local. */
export async function loginUser(home: string, name: string, locals?: readonly string[]): Promise<string | undefined> {
  const at = name.lastIndexOf('@');
  if (at < 0) return name.toLowerCase();
  const domains = locals ?? (await localDomains(home));
  const domain = name.slice(at + 1).toLowerCase();
  return domains.some((d) => d.toLowerCase() === domain) ? name.slice(0, at).toLowerCase() : undefined;
}

let dummy: Promise<string> | undefined;
/** A hash to check unknown users against, made once on first use. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('qmta: equalises the time of unknown users');
  return dummy;
}

/** Checks a login; temp when users/passwd cannot be read (answer "try later", not "wrong"). */
export async function checkPassword(home: string, name: string, pw: string,
  locals?: readonly string[]): Promise<Outcome<boolean>> {
  const user = await loginUser(home, name, locals);
  const secrets = await readSecrets(home, 'passwd');
  if (secrets.kind !== 'ok') return secrets;
  const stored = user === undefined ? undefined : secrets.value.get(user);
  if (stored === undefined || Buffer.byteLength(pw) > MAX_PASSWORD_BYTES) {
    await matchHash(await dummyHash(), pw.slice(0, MAX_PASSWORD_BYTES));
    return ok(false);
  }
  return matchHash(stored, pw);
}

/** True only when the login is right; any failure (unreadable file) is false. */
export async function verifyPassword(home: string, name: string, pw: string, locals?: readonly string[]): Promise<boolean> {
  const r = await checkPassword(home, name, pw, locals);
  return r.kind === 'ok' && r.value;
}

/** The APOP secret of a user, or undefined when the user has none. */
export async function apopSecret(home: string, name: string, locals?: readonly string[]): Promise<Outcome<string | undefined>> {
  const user = await loginUser(home, name, locals);
  const secrets = await readSecrets(home, 'apop');
  if (secrets.kind !== 'ok') return secrets;
  return ok(user === undefined ? undefined : secrets.value.get(user));
}
