// What the hooks' end-to-end tests share: an Mta embedded in the test process with its
// SMTP and submission listeners on loopback (createMta({ listen: true, hooks })), the
// application's mail kept by a store in memory, remote deliveries and the log's warnings
// recorded; and a scripted Python smtplib client that reports every reply.
//
// Interface: startHooked(t, hooks, options) -> Hooked; smtplib(port, steps) -> the reply of
// each step ([code, text], or ['closed'] when the server hung up, which ends the script).
// Steps: ['ehlo' | 'helo', name], ['mail', address, options?], ['rcpt', address],
// ['data', message], ['auth', 'PLAIN' | 'LOGIN', user, password], ['rset'], ['noop'].
// The connection's greeting is the first reply; after a greeting other than 220 the script
// sends NOOP to see whether the server closed the connection.

import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { createMta, type ControlOverrides, type DeliveryEvent, type LocalStore, type Mta, type SmtpHooks } from '../../ts/index.js';
import { tempDir } from '../helpers/home.js';
import { freePorts } from '../helpers/net.js';

// Async: the MTA runs in this process, a synchronous child would block it.
const run = promisify(execFile);

export interface Stored { readonly id: string; readonly sender: string; readonly recipient: string; readonly bytes: string }

export interface Hooked {
  readonly mta: Mta;
  readonly home: string;
  /** The smtp listener (a mail exchanger's port) and the submission listener (AUTH required). */
  readonly port: number;
  readonly submission: number;
  /** What the store kept (recipients @app.test when it claims them). */
  readonly stored: Stored[];
  /** delivered/deferred/failed events: "<event> <recipient>: <report>". */
  readonly events: string[];
  /** The log's warning records (the hook failures among them). */
  readonly warnings: Record<string, unknown>[];
  /** Recipients handed to remote delivery (which accepts them all). */
  readonly remote: string[];
}

export interface HookedOptions {
  readonly control?: ControlOverrides;
  /** Whether the store claims @app.test (default true). */
  readonly store?: boolean;
}

export const CONTROL = { me: 'mx.app.test', locals: ['app.test'], rcpthosts: ['app.test'], authplaintext: 1 } as const;

/** An Mta with `hooks` listening on two free loopback ports; stopped when the test ends. */
export async function startHooked(t: ExecutionContext, hooks: SmtpHooks, opts: HookedOptions = {}): Promise<Hooked> {
  const [port, submission] = await freePorts(2);
  const home = join(tempDir(t), 'home');
  const stored: Stored[] = [];
  const warnings: Record<string, unknown>[] = [];
  const remote: string[] = [];
  const store: LocalStore = {
    recipients: (address) => address.endsWith('@app.test'),
    async deliver(d) {
      stored.push({ id: d.id, sender: d.sender, recipient: d.recipient, bytes: await text(d.message) });
    },
  };
  const mta = await createMta({
    home, hooks, listen: true,
    log: { info() {}, warn: (o) => void warnings.push(o as Record<string, unknown>), error: (o) => void warnings.push(o as Record<string, unknown>) },
    control: { ...CONTROL, smtplisten: [`127.0.0.1:${port}`], submissionlisten: [`127.0.0.1:${submission}`], pop3listen: [], ...opts.control },
    remote: { async deliver(req) {
      remote.push(...req.recipients);
      return req.recipients.map((address) => ({ address, outcome: { kind: 'ok' as const, value: 'taken' } }));
    } },
    ...(opts.store === false ? {} : { store }),
  });
  t.teardown(() => mta.stop(1000));
  const events: string[] = [];
  for (const e of ['delivered', 'deferred', 'failed'] as const) mta.on(e, (x: DeliveryEvent) => events.push(`${e} ${x.recipient}: ${x.report}`));
  await mta.start();
  return { mta, home, port: port!, submission: submission!, stored, events, warnings, remote };
}

export type Step =
  | readonly ['ehlo' | 'helo', string]
  | readonly ['mail', string, (readonly string[])?]
  | readonly ['rcpt', string]
  | readonly ['data', string]
  | readonly ['auth', 'PLAIN' | 'LOGIN', string, string]
  | readonly ['rset' | 'noop'];

export type Reply = readonly [number, string] | readonly ['closed'];

const CLIENT = `
import json, smtplib, sys
port, steps = int(sys.argv[1]), json.loads(sys.argv[2])
out = []
def reply(r):
    out.append([r[0], r[1].decode('utf-8', 'replace')])
s = smtplib.SMTP(timeout=30)
try:
    reply(s.connect('127.0.0.1', port))
    if out[0][0] != 220:
        s.noop()
        out.append(['open'])
    else:
        for step in steps:
            op, args = step[0], step[1:]
            try:
                if op == 'ehlo': reply(s.ehlo(args[0]))
                elif op == 'helo': reply(s.helo(args[0]))
                elif op == 'mail': reply(s.mail(args[0], args[1] if len(args) > 1 else ()))
                elif op == 'rcpt': reply(s.rcpt(args[0]))
                elif op == 'data': reply(s.data(args[0].encode()))
                elif op == 'auth':
                    s.user, s.password = args[1], args[2]
                    reply(s.auth(args[0], s.auth_plain if args[0] == 'PLAIN' else s.auth_login))
                elif op == 'rset': reply(s.docmd('RSET'))
                elif op == 'noop': reply(s.noop())
            except smtplib.SMTPResponseException as e:
                reply((e.smtp_code, e.smtp_error))
except smtplib.SMTPServerDisconnected:
    out.append(['closed'])
print(json.dumps(out))
`;

/** Runs `steps` through Python's smtplib against 127.0.0.1:`port`; the replies in order. */
export async function smtplib(port: number, steps: readonly Step[]): Promise<Reply[]> {
  const { stdout } = await run('python3', ['-c', CLIENT, String(port), JSON.stringify(steps)], { timeout: 60_000 });
  return JSON.parse(stdout) as Reply[];
}

/** A message with CR LF line ends, as a client sends it. */
export function message(subject: string, body: string): string {
  return `From: alice@far.test\r\nSubject: ${subject}\r\n\r\n${body.replace(/\n/g, '\r\n')}`;
}
