// qmta as an embedding, for the SMTP benchmark's hooks comparison (bench/smtp-e2e.ts
// --hooks): createMta({ home, listen: true }) in a child process on the home
// bench/smtp-e2e-qmta.ts made, with a no-op handler at each of the six hook points when
// --hooks is given, so that the two variants differ by the hooks alone.
//
// Usage: node dist/bench/smtp-e2e-embed.js --home H --smtp 127.0.0.1:PORT [--hooks]
// Started as root it first does what `qmta start` does before its first network byte
// (ts/daemon/partition.ts: the qmta account, the listeners bound, root dropped), so the
// embedding runs as the account that owns the users' maildirs, as the daemon does.
// A no-op handler answers nothing: qmta's default decides, as without hooks; what is
// measured is each decision's crossing to TypeScript and the handler's call. smtp-source
// never authenticates, so the auth handler is registered but not asked.
// Failures: a home or a listener that cannot be used -> exit 111 with the reason on stderr.
// Stops on SIGTERM: mta.stop(), then exit 0.

import { parseArgs } from 'node:util';
import { partition } from '../ts/daemon/partition.js';
import { createMta, type SmtpHooks } from '../ts/index.js';

const noop = (): undefined => undefined;
const HOOKS: SmtpHooks = { connect: noop, helo: noop, auth: noop, mail: noop, rcpt: noop, data: noop };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { home: { type: 'string' }, smtp: { type: 'string' }, hooks: { type: 'boolean' } } });
  if (!values.home || !values.smtp) throw new Error('usage: smtp-e2e-embed --home H --smtp HOST:PORT [--hooks]');
  const control = { smtplisten: [values.smtp], submissionlisten: ['127.0.0.1:0'], pop3listen: ['127.0.0.1:0'] };
  const parted = await partition(values.home, control);
  if (parted.kind !== 'ok') throw new Error(parted.text);
  const mta = await createMta({ home: values.home, control, listen: true, ...(values.hooks ? { hooks: HOOKS } : {}) });
  process.once('SIGTERM', () => void mta.stop().then(() => process.exit(0)));
  await mta.start();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(111);
});
