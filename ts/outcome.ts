// Outcome: the result of any mail operation that can fail the way mail fails.
//
// Mirrors crates/status: a failure has a kind (temp = qmail's Z / exit 111,
// perm = qmail's D / exit 100), an RFC 3463 status whose first digit agrees with the
// kind, and a text. Expected mail failures are values; a thrown error is a bug or a
// broken contract. Every switch on `kind` ends in assertNever.

/** temp: try again later (qmail's Z, exit 111, SMTP 4xx); perm: give up (D, exit 100, 5xx). */
export type FailureKind = 'temp' | 'perm';

/** A mail failure: its class, RFC 3463 status and human text. */
export interface Failure {
  /** temp or perm; agrees with the first digit of `status`. */
  readonly kind: FailureKind;
  /** RFC 3463 enhanced status, e.g. "4.3.0". */
  readonly status: string;
  /** What went wrong, one line (qmail prints it as "text (#status)"). */
  readonly text: string;
}

/** A success and its value. */
export interface Ok<T> {
  /** Always 'ok'. */
  readonly kind: 'ok';
  /** The result. */
  readonly value: T;
}

/** The result of a mail operation: {@link Ok} or a {@link Failure}. */
export type Outcome<T = void> = Ok<T> | Failure;

const STATUS = /^[45]\.\d{1,3}\.\d{1,3}$/;

/** A successful outcome. */
export function ok<T>(value: T): Outcome<T> {
  return { kind: 'ok', value };
}

/** A temporary failure; `status` must start with 4. */
export function temp(status: string, text: string): Failure {
  return failure('temp', status, text);
}

/** A permanent failure; `status` must start with 5. */
export function perm(status: string, text: string): Failure {
  return failure('perm', status, text);
}

function failure(kind: FailureKind, status: string, text: string): Failure {
  const digit = kind === 'temp' ? '4' : '5';
  if (!STATUS.test(status) || status[0] !== digit) {
    throw new Error(`status ${status} does not fit a ${kind} failure`);
  }
  return { kind, status, text };
}

/** True when the outcome is a failure of either kind. */
export function isFailure<T>(o: Outcome<T>): o is Failure {
  return o.kind !== 'ok';
}

/** qmail's HCMSSC form: "text (#4.3.0)". */
export function describe(f: Failure): string {
  return `${f.text} (#${f.status})`;
}

/** Turns an exception thrown during a delivery into a value: unknown means temporary. */
export function fromException(err: unknown): Failure {
  const text = err instanceof Error ? err.message : String(err);
  return temp('4.3.0', `internal error: ${text}`);
}

/** Compile-time exhaustiveness check for switches on a union. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
