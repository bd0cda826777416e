#!/usr/bin/env node
// The `sendmail` command installed with the package (npm bin): qmail's sendmail wrapper over
// qmta inject. Wiring only; see ts/inject/sendmail.ts. The home is $QMTA_HOME, else ./qmta-home.

import { basename } from 'node:path';
import { homeOf, sendmailMain } from '../inject/sendmail.js';

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, home: homeOf(process.env) };
sendmailMain(process.argv.slice(2), basename(process.argv[1] ?? 'sendmail'), io).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`sendmail: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 111;
  },
);
