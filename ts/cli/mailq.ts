#!/usr/bin/env node
// The `mailq` command installed with the package (npm bin): the queue listing in
// qmail-qread's format. Wiring only; see ts/inject/sendmail.ts. Home: $QMTA_HOME, else ./qmta-home.

import { homeOf, mailqMain } from '../inject/sendmail.js';

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, home: homeOf(process.env) };
mailqMain(io).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`mailq: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 111;
  },
);
