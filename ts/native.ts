// The only module that imports the native core (bindings/, through the "#native"
// import map). Everything else imports this file. It turns the core's raw results into
// domain types and its errors into Failure values.
//
// Constraint shared with bindings/src/failure.rs: a core failure is a JS error whose
// code is QMTA_TEMP or QMTA_PERM and whose message is "<status> <text>".

import * as core from '#native';
import { perm, temp, type Failure } from './outcome.js';

/** Version of the loaded native core. */
export function coreVersion(): string {
  return core.coreVersion();
}

/** Decodes a native error into a Failure; any other error is rethrown (it is a bug). */
export function decodeFailure(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown };
  if (e && (e.code === 'QMTA_TEMP' || e.code === 'QMTA_PERM') && typeof e.message === 'string') {
    const space = e.message.indexOf(' ');
    const status = e.message.slice(0, space);
    const text = e.message.slice(space + 1);
    return e.code === 'QMTA_TEMP' ? temp(status, text) : perm(status, text);
  }
  throw err;
}
