// `qmta list ...`: mailing lists the qmail way (ts/lists).
//   create NAME [--dir D] [--address A] [--owner O] [--bounce-limit N] [--bounce-days N]
//          [--one-click-url https://...]
//   add NAME ADDRESS...   del NAME ADDRESS...   show NAME   one-click NAME QUERY (RFC 8058)
//   post|request|bounce NAME --dir D   (run from the list's .qmail files; message on stdin)
// D defaults to the alias user's home (HOME/alias), A to NAME@me, O to postmaster@me.
// List mail is DKIM-signed (control/dkimkeys): by the author's domain when it is ours, else
// by the list's (the envelope sender's domain); posts are ARC-sealed when control/arcseal is on.
// Exit codes: 0 ok; 100 permanent (bad name/address, no such list, loop); 111 temporary.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CliContext } from './main.js';
import { loadConfig } from '../config/index.js';
import { openOutgoingQueue } from '../dkim/open-queue.js';
import type { Outcome } from '../outcome.js';
import type { HelperIo } from '../helpers/io.js';
import { runListBounce } from '../lists/bounce.js';
import { addSubscribers, createList, delSubscribers, shellQuote } from '../lists/create.js';
import { oneClickUnsubscribe } from '../lists/one-click.js';
import { runListPost } from '../lists/post.js';
import { runListRequest } from '../lists/request.js';
import { listState, readConfig, readSubscribers, type ListState } from '../lists/store.js';

interface DirOption { dir?: string }

function stateOf(ctx: CliContext, name: string, o: DirOption): ListState {
  return listState(o.dir ?? join(ctx.home(), 'alias'), name);
}

function done<T>(ctx: CliContext, r: Outcome<T>, print?: (v: T) => void): void {
  if (r.kind !== 'ok') {
    process.exitCode = ctx.fail(r);
    return;
  }
  print?.(r.value);
}

function registerManage(list: Command, ctx: CliContext): void {
  list.command('create <name>').description('create a list (its .qmail files and state)')
    .option('--dir <dir>', "the owner's home directory (default HOME/alias)")
    .option('--address <address>', 'posting address (default NAME@me)')
    .option('--owner <address>', "owner's address (default postmaster@me)")
    .option('--bounce-limit <n>', 'bounces before a subscriber is removed', '3')
    .option('--bounce-days <n>', 'over how many days bounces count', '10')
    .option('--one-click-url <url>', 'RFC 8058 one-click unsubscription endpoint (https://...)')
    .action(async (name: string, o: DirOption & { address?: string; owner?: string; bounceLimit: string; bounceDays: string; oneClickUrl?: string }) => {
      const config = await loadConfig(ctx.home());
      if (config.kind !== 'ok') return done(ctx, config);
      const me = config.value.me;
      const main = fileURLToPath(new URL('./main.js', import.meta.url));
      const s = stateOf(ctx, name, o);
      done(ctx, await createList({
        dir: s.dir, name, address: o.address ?? `${name}@${me}`, owner: o.owner ?? `postmaster@${me}`,
        invoke: `${shellQuote(process.execPath)} ${shellQuote(main)} --home ${shellQuote(ctx.home())}`,
        bounceLimit: Number(o.bounceLimit), bounceDays: Number(o.bounceDays),
        ...(o.oneClickUrl !== undefined ? { oneClickUrl: o.oneClickUrl } : {}),
      }), (c) => process.stdout.write(`list ${c.name}: ${c.address}, owner ${c.owner}\n`));
    });
  list.command('add <name> <addresses...>').description('subscribe addresses (no confirmation)')
    .option('--dir <dir>').action(async (name: string, addrs: string[], o: DirOption) => {
      done(ctx, await addSubscribers(stateOf(ctx, name, o), addrs));
    });
  list.command('del <name> <addresses...>').description('unsubscribe addresses')
    .option('--dir <dir>').action(async (name: string, addrs: string[], o: DirOption) => {
      done(ctx, await delSubscribers(stateOf(ctx, name, o), addrs));
    });
  list.command('show <name>').description('print the configuration and the subscribers')
    .option('--dir <dir>').action(async (name: string, o: DirOption) => {
      const s = stateOf(ctx, name, o);
      const cfg = await readConfig(s);
      if (cfg.kind !== 'ok') return done(ctx, cfg);
      const c = cfg.value;
      process.stdout.write(`list ${c.name}: ${c.address}, owner ${c.owner}, remove after ${c.bounceLimit} bounces in ${c.bounceDays} days\n`);
      done(ctx, await readSubscribers(s), (subs) => process.stdout.write(subs.map((a) => `${a}\n`).join('')));
    });
}

function registerOneClick(list: Command, ctx: CliContext): void {
  list.command('one-click <name> <query>')
    .description('perform an RFC 8058 one-click unsubscription (the POSTed URI\'s query string), for a web handler')
    .option('--dir <dir>').action(async (name: string, query: string, o: DirOption) => {
      done(ctx, await oneClickUnsubscribe(stateOf(ctx, name, o), new URLSearchParams(query)), (r) => process.stdout.write(`${r}\n`));
    });
}

const PROGRAMS = { post: runListPost, request: runListRequest, bounce: runListBounce } as const;

/** Registers `qmta list`. */
export function register(program: Command, ctx: CliContext): void {
  const list = program.command('list').description('mailing lists: create, add, del, show (post, request, bounce run from .qmail files)');
  registerManage(list, ctx);
  registerOneClick(list, ctx);
  for (const [what, run] of Object.entries(PROGRAMS)) {
    list.command(`${what} <name>`).description(`(from the list's .qmail file) ${what} the message on stdin`)
      .option('--dir <dir>').action(async (name: string, o: DirOption) => {
        const io: HelperIo = {
          env: process.env, stdinFd: 0, stdout: process.stdout, stderr: process.stderr,
          openQueue: () => openOutgoingQueue(ctx.home(), { sign: true, seal: what === 'post' }),
        };
        process.exitCode = await run(stateOf(ctx, name, o), io);
      });
  }
}
