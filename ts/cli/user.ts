// `qmta user add|del|list|passwd`: maintaining users/assign, users/passwd and users/apop.
//
// Interface: register(program, ctx) adds the `user` command group (see main.ts).
//   user add NAME [--home-dir D] [--uid N] [--gid N]  home defaults to HOME/mail/NAME
//   user del NAME                                     the mail directory is kept
//   user list                                         name, uid, gid, home, credentials
//   user passwd NAME [--apop]                         password read from stdin (first line)
// Each creates a missing home first and makes a running qmta reload (SIGHUP) after a change.
// Exit codes: 0; 100 bad name, unknown or existing user, bad password; 111 I/O trouble.
// Failures: stdin longer than MAX_STDIN bytes -> 100 (the password is refused, not truncated).

import { InvalidArgumentError, type Command } from 'commander';
import { perm, type Outcome } from '../outcome.js';
import { addUser, delUser, listUsers, setPassword } from '../users/manage.js';
import type { CliContext } from './main.js';

const MAX_STDIN = 4096;

function parseId(v: string): number {
  if (!/^\d{1,10}$/.test(v)) throw new InvalidArgumentError(`not a numeric id: ${v}`);
  return Number(v);
}

/** Runs a change inside an existing-or-created home, reports, reloads a running qmta. */
async function change(ctx: CliContext, fn: (home: string) => Promise<Outcome<string>>): Promise<number> {
  const home = await ctx.ensureHome();
  if (home.kind !== 'ok') return ctx.fail(home);
  const r = await fn(home.value);
  if (r.kind !== 'ok') return ctx.fail(r);
  process.stdout.write(`${r.value}\n`);
  if (await ctx.reload()) process.stdout.write('running qmta reloaded\n');
  return 0;
}

/** The first line of stdin: a pipe, or a terminal with echo turned off. */
async function readPassword(): Promise<Outcome<string>> {
  if (process.stdin.isTTY) return readTerminal();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_STDIN) return perm('5.7.0', `password input longer than ${MAX_STDIN} bytes`);
    if (chunk.includes(10)) break;
  }
  const line = Buffer.concat(chunks).toString('utf8').split('\n')[0]!.replace(/\r$/, '');
  return { kind: 'ok', value: line };
}

/** Reads a line in raw mode so the password is not echoed; Ctrl-C or Ctrl-D aborts. */
function readTerminal(): Promise<Outcome<string>> {
  process.stderr.write('Password: ');
  process.stdin.setRawMode(true);
  let line = '';
  return new Promise((done) => {
    const finish = (r: Outcome<string>) => {
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stdin.off('data', onData);
      process.stderr.write('\n');
      done(r);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish({ kind: 'ok', value: line });
        if (ch === '\u0003' || ch === '\u0004') return finish(perm('5.7.0', 'password entry aborted'));
        line = ch === '\u007f' ? line.slice(0, -1) : line + ch;
        if (line.length > MAX_STDIN) return finish(perm('5.7.0', `password longer than ${MAX_STDIN} bytes`));
      }
    };
    process.stdin.on('data', onData);
  });
}

async function list(ctx: CliContext): Promise<number> {
  const home = await ctx.ensureHome();
  if (home.kind !== 'ok') return ctx.fail(home);
  const users = await listUsers(home.value);
  if (users.kind !== 'ok') return ctx.fail(users);
  for (const u of users.value) {
    const creds = [u.password ? 'password' : '', u.apop ? 'apop' : ''].filter((c) => c !== '').join(',') || '-';
    process.stdout.write(`${u.name}\t${u.uid}\t${u.gid}\t${u.home}\t${creds}\n`);
  }
  return 0;
}

/** Adds the `user` command group. */
export function register(program: Command, ctx: CliContext): void {
  const user = program.command('user').description('manage mail users (users/assign, users/passwd)');
  user.command('add <name>').description('add a user whose mail goes to HOME/mail/NAME/Maildir/')
    .option('--home-dir <dir>', 'the user\'s home directory (default HOME/mail/NAME)')
    .option('--uid <n>', 'uid deliveries run as (default: qmta\'s own)', parseId)
    .option('--gid <n>', 'gid deliveries run as (default: qmta\'s own)', parseId)
    .action(async (name: string, o: { homeDir?: string; uid?: number; gid?: number }) => {
      process.exitCode = await change(ctx, async (home) => {
        const r = await addUser(home, name, o);
        return r.kind === 'ok' ? { kind: 'ok', value: `added ${name}: ${r.value.home}` } : r;
      });
    });
  user.command('del <name>').description('remove a user (the mail directory is kept)')
    .action(async (name: string) => {
      process.exitCode = await change(ctx, async (home) => {
        const r = await delUser(home, name);
        return r.kind === 'ok' ? { kind: 'ok', value: `deleted ${name}` } : r;
      });
    });
  user.command('list').description('list users: name, uid, gid, home, credentials')
    .action(async () => {
      process.exitCode = await list(ctx);
    });
  user.command('passwd <name>').description('set a password (read from stdin) for SMTP AUTH and POP3')
    .option('--apop', 'set the APOP secret instead (stored in clear: cleartext-equivalent); POP3 offers APOP once '
      + 'any user has one, and clients such as curl then use it for every user')
    .action(async (name: string, o: { apop?: boolean }) => {
      process.exitCode = await change(ctx, async (home) => {
        const pw = await readPassword();
        if (pw.kind !== 'ok') return pw;
        const r = await setPassword(home, name, pw.value, { apop: o.apop === true });
        return r.kind === 'ok' ? { kind: 'ok', value: `${o.apop ? 'APOP secret' : 'password'} set for ${name}` } : r;
      });
    });
}
